-- Service identities: accounts of programs owned by an organization, the
-- credentials they exchange for access tokens, and people's personal access
-- tokens.

-- The account itself is the organization's (row-level security below); its
-- role is VIEWER to ADMIN, never OWNER.
CREATE TABLE service_accounts (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    role TEXT NOT NULL,
    disabled_at TIMESTAMP,
    -- SHA-256 thumbprint (base64url) of the client certificate the account
    -- must present over mutual TLS; its tokens are bound to it (RFC 8705).
    certificate_sha256 TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX service_accounts_org ON service_accounts (org_id, id);

-- Keys and secrets, read by the token exchange before any tenant is known
-- (like sessions): the organization is a column, and the account is looked
-- up in that organization's scope. A secret is kept only as its SHA-256
-- (it is 256 random bits); a key only as its public half.
CREATE TABLE service_credentials (
    id TEXT PRIMARY KEY NOT NULL,
    service_account_id TEXT NOT NULL REFERENCES service_accounts (id) ON DELETE CASCADE,
    org_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    algorithm TEXT,
    public_key_pem TEXT,
    generated BOOLEAN NOT NULL,
    secret_hash TEXT UNIQUE,
    secret_prefix TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    last_used_at TIMESTAMP
);
CREATE INDEX service_credentials_account ON service_credentials (service_account_id, created_at);

-- Assertion ids seen, until the assertion expires: each is single-use.
CREATE TABLE assertion_jtis (
    jti_hash TEXT PRIMARY KEY NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX assertion_jtis_expiry ON assertion_jtis (expires_at);

-- Personal access tokens: a person's, pinned to one organization, acting
-- with at most `role`. Kept only as their SHA-256.
CREATE TABLE personal_access_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    last_used_at TIMESTAMP
);
CREATE INDEX personal_access_tokens_user ON personal_access_tokens (user_id, created_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON service_accounts, service_credentials,
    assertion_jtis, personal_access_tokens TO tenantry_app;

ALTER TABLE service_accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE service_accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY service_accounts_tenant ON service_accounts
    USING (org_id = tenantry_tenant()) WITH CHECK (org_id = tenantry_tenant());
