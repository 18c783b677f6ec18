-- Password resets: a single-use token mailed to the account's address, kept
-- only as its SHA-256 (like email verifications).
CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX password_resets_user ON password_resets (user_id);

-- Failed sign-ins are counted per subject: an account, an (account, client
-- address) pair, or a client address.
ALTER TABLE login_throttle RENAME COLUMN email TO subject;

-- Fixed-window counters shared by every instance (password reset requests
-- per address).
CREATE TABLE rate_windows (
    subject TEXT PRIMARY KEY NOT NULL,
    window_start TIMESTAMP NOT NULL,
    hits BIGINT NOT NULL
);

-- Mail for an SMTP relay, written before the call that sends it returns and
-- delivered by a job (retried with backoff), so a slow relay slows no call.
CREATE TABLE mail_outbox (
    id TEXT PRIMARY KEY NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- What housekeeping deletes by age.
CREATE INDEX sessions_absolute_expiry ON sessions (absolute_expires_at);
CREATE INDEX email_verifications_expiry ON email_verifications (expires_at);
CREATE INDEX password_resets_expiry ON password_resets (expires_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON password_resets, rate_windows, mail_outbox TO tenantry_app;
