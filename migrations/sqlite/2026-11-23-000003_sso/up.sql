-- Per-organization single sign-on: the provider configuration (client
-- secret encrypted), sign-ins in progress, and linked identities.

-- How a session signed in: `password` or `sso` (an organization that
-- requires SSO refuses password sessions of its non-owners).
ALTER TABLE sessions ADD COLUMN auth_method TEXT NOT NULL DEFAULT 'password';

CREATE TABLE sso_configs (
    org_id TEXT PRIMARY KEY NOT NULL REFERENCES organizations (id),
    issuer_url TEXT NOT NULL,
    client_id TEXT NOT NULL,
    -- AES-256-GCM under the master key `secret_key_id`, bound to org_id.
    secret_key_id TEXT,
    secret_sealed TEXT,
    -- JSON: scopes, claim names, provisioning rules, redirect URIs.
    settings TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE sso_login_states (
    state_hash TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    redirect_uri TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);

CREATE TABLE sso_identities (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP NOT NULL,
    UNIQUE (org_id, issuer, subject)
);
CREATE INDEX sso_identities_user ON sso_identities (user_id);
