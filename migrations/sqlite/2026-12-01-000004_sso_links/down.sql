DROP TABLE sso_link_requests;
