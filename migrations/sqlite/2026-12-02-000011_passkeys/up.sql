-- Passkeys (WebAuthn credentials). `credential` is webauthn-rs's record of
-- it as JSON: the public key, the signature counter and the backup flags,
-- nothing secret. `user_handle` is the random id authenticators keep for
-- the account (the same for all its passkeys), so a sign-in without an
-- email finds it.
CREATE TABLE passkeys (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_handle TEXT NOT NULL,
    credential_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    credential TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE INDEX passkeys_user ON passkeys (user_id);
CREATE INDEX passkeys_user_handle ON passkeys (user_handle);

-- A WebAuthn ceremony waiting for the browser: a registration (of a user)
-- or a sign-in (of anyone). `state` is webauthn-rs's state as JSON, holding
-- the challenge; a ceremony is used once.
CREATE TABLE passkey_ceremonies (
    token_hash TEXT PRIMARY KEY NOT NULL,
    purpose TEXT NOT NULL,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX passkey_ceremonies_expiry ON passkey_ceremonies (expires_at);

-- A two-step sign-in's passkey state, when the account has passkeys.
ALTER TABLE mfa_challenges ADD COLUMN passkey_state TEXT;
