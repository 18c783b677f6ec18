-- A second factor: an authenticator app (TOTP). The secret is sealed under
-- the master key; `last_used_step` makes each code work once (RFC 6238
-- section 5.2). Unconfirmed until the first code comes back.
CREATE TABLE totp_factors (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_id TEXT NOT NULL,
    sealed_secret BYTEA NOT NULL,
    confirmed_at TIMESTAMP,
    last_used_step BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Recovery codes, kept as SHA-256 (80 random bits each: too many to guess
-- offline from the hash).
CREATE TABLE recovery_codes (
    code_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    used_at TIMESTAMP
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- The first step of a two-step sign-in, waiting for the second.
CREATE TABLE mfa_challenges (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    requested_org_id TEXT,
    failures BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX mfa_challenges_expiry ON mfa_challenges (expires_at);

ALTER TABLE organizations ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;

GRANT SELECT, INSERT, UPDATE, DELETE ON totp_factors, recovery_codes, mfa_challenges TO tenantry_app;
