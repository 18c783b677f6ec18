DROP TABLE personal_access_tokens;
DROP TABLE assertion_jtis;
DROP TABLE service_credentials;
DROP TABLE service_accounts;
