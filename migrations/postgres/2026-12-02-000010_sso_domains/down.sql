DROP TABLE sso_domains;
