DROP TABLE sso_identities;
DROP TABLE sso_login_states;
DROP TABLE sso_configs;
ALTER TABLE sessions DROP COLUMN auth_method;
