-- Full-text search of the forum (issue 9): one row per topic title (post_id '') and per post;
-- `public` is true for titles and published posts, so held and hidden posts are not found.
-- Triggers keep it in step; the SQLite twin is an FTS5 table.
CREATE TABLE forum_search (
    topic_id TEXT NOT NULL,
    post_id TEXT NOT NULL,
    public BOOLEAN NOT NULL,
    body tsvector NOT NULL
);
CREATE INDEX forum_search_body ON forum_search USING GIN (body);
CREATE INDEX forum_search_post ON forum_search (post_id);
CREATE INDEX forum_search_topic ON forum_search (topic_id);

INSERT INTO forum_search (topic_id, post_id, public, body)
    SELECT id, '', TRUE, to_tsvector('simple', title) FROM forum_topics;
INSERT INTO forum_search (topic_id, post_id, public, body)
    SELECT topic_id, id, status = 'published', to_tsvector('simple', body) FROM forum_posts;

CREATE FUNCTION forum_topics_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO forum_search (topic_id, post_id, public, body)
            VALUES (NEW.id, '', TRUE, to_tsvector('simple', NEW.title));
    ELSE
        UPDATE forum_search SET body = to_tsvector('simple', NEW.title)
            WHERE topic_id = NEW.id AND post_id = '';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER forum_topics_search AFTER INSERT OR UPDATE OF title ON forum_topics
    FOR EACH ROW EXECUTE FUNCTION forum_topics_search();

CREATE FUNCTION forum_posts_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO forum_search (topic_id, post_id, public, body)
            VALUES (NEW.topic_id, NEW.id, NEW.status = 'published', to_tsvector('simple', NEW.body));
    ELSE
        UPDATE forum_search
            SET public = (NEW.status = 'published'), body = to_tsvector('simple', NEW.body)
            WHERE post_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER forum_posts_search AFTER INSERT OR UPDATE OF status, body ON forum_posts
    FOR EACH ROW EXECUTE FUNCTION forum_posts_search();
