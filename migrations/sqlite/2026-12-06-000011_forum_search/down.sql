DROP TRIGGER forum_posts_search_update;
DROP TRIGGER forum_posts_search_insert;
DROP TRIGGER forum_topics_search_update;
DROP TRIGGER forum_topics_search_insert;
DROP TABLE forum_search;
