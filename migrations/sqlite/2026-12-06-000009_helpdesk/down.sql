DROP TABLE forum_posts;
DROP TABLE forum_topics;
DROP TABLE forum_categories;
DROP TABLE status_incident_updates;
DROP TABLE status_incidents;
DROP TABLE status_components;
DROP TABLE helpdesk_meetings;
DROP TABLE releases;
