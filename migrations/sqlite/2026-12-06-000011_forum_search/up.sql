-- Full-text search of the forum (issue 9): one row per topic title (post_id '') and per post;
-- `public` is 1 for titles and published posts, so held and hidden posts are not found.
-- Triggers keep it in step; the PostgreSQL twin uses a tsvector + GIN index.
CREATE VIRTUAL TABLE forum_search USING fts5(
    topic_id UNINDEXED,
    post_id UNINDEXED,
    public UNINDEXED,
    body,
    tokenize = 'unicode61 remove_diacritics 2'
);

INSERT INTO forum_search (topic_id, post_id, public, body) SELECT id, '', 1, title FROM forum_topics;
INSERT INTO forum_search (topic_id, post_id, public, body)
    SELECT topic_id, id, status = 'published', body FROM forum_posts;

CREATE TRIGGER forum_topics_search_insert AFTER INSERT ON forum_topics BEGIN
    INSERT INTO forum_search (topic_id, post_id, public, body) VALUES (new.id, '', 1, new.title);
END;
CREATE TRIGGER forum_topics_search_update AFTER UPDATE OF title ON forum_topics BEGIN
    UPDATE forum_search SET body = new.title WHERE topic_id = new.id AND post_id = '';
END;
CREATE TRIGGER forum_posts_search_insert AFTER INSERT ON forum_posts BEGIN
    INSERT INTO forum_search (topic_id, post_id, public, body)
        VALUES (new.topic_id, new.id, new.status = 'published', new.body);
END;
CREATE TRIGGER forum_posts_search_update AFTER UPDATE OF status, body ON forum_posts BEGIN
    UPDATE forum_search SET public = (new.status = 'published'), body = new.body
        WHERE post_id = new.id;
END;
