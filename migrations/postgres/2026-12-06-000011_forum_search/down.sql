DROP TRIGGER forum_posts_search ON forum_posts;
DROP FUNCTION forum_posts_search();
DROP TRIGGER forum_topics_search ON forum_topics;
DROP FUNCTION forum_topics_search();
DROP TABLE forum_search;
