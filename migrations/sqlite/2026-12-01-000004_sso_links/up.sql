-- First SSO sign-ins that matched an existing account by email: the
-- identity is linked only once the account's owner consents (their password,
-- or a token mailed to the account). Both tokens are stored hashed.
CREATE TABLE sso_link_requests (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issuer TEXT NOT NULL,
    -- JSON: what the provider said (subject, email, name, groups).
    person TEXT NOT NULL,
    link_token_hash TEXT NOT NULL UNIQUE,
    email_token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX sso_link_requests_user ON sso_link_requests (user_id);
