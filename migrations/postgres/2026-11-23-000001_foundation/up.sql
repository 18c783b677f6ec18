-- Accounts, sessions, organizations, memberships, invitations and the audit log.
-- Ids are UUIDv7 text; timestamps are UTC without zone (microseconds).
--
-- The server connects with the operator's URL (perhaps a superuser or the
-- tables' owner, who bypass row-level security) and then does
-- `SET ROLE tenantry_app` on every pooled connection: that role owns nothing,
-- is no superuser and cannot bypass RLS, so the policies below always hold.

DO $$
BEGIN
    CREATE ROLE tenantry_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL; -- made by an earlier database of this cluster
END $$;

DO $$
BEGIN
    EXECUTE format('GRANT tenantry_app TO %I', current_user);
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'could not grant tenantry_app to %: grant it so the server can SET ROLE', current_user;
END $$;

-- The organization a transaction acts for, set by the server with
-- set_config('app.tenant_id', ..., true); NULL when unset or reset.
CREATE FUNCTION tenantry_tenant() RETURNS text LANGUAGE sql STABLE AS
$$ SELECT NULLIF(current_setting('app.tenant_id', true), '') $$;

-- The signed-in user a transaction acts for (their own memberships only).
CREATE FUNCTION tenantry_user() RETURNS text LANGUAGE sql STABLE AS
$$ SELECT NULLIF(current_setting('app.user_id', true), '') $$;


CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash TEXT,
    display_name TEXT NOT NULL,
    last_org_id TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE organizations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    login_policy TEXT NOT NULL DEFAULT 'local',
    max_file_size BIGINT NOT NULL,
    storage_quota BIGINT NOT NULL,
    audit_seq BIGINT NOT NULL DEFAULT 0,
    audit_head TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);

-- The chain of account events that belong to no organization (sign-ups,
-- failed sign-ins, password changes). Nobody is a member of it.
INSERT INTO organizations (id, name, slug, max_file_size, storage_quota, audit_head, created_at, updated_at)
VALUES ('00000000-0000-0000-0000-000000000000', 'account events', '-accounts-', 0, 0,
        '0000000000000000000000000000000000000000000000000000000000000000',
        '2026-01-01 00:00:00', '2026-01-01 00:00:00');

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id TEXT,
    created_at TIMESTAMP NOT NULL,
    last_active_at TIMESTAMP NOT NULL,
    idle_expires_at TIMESTAMP NOT NULL,
    absolute_expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    revoke_reason TEXT,
    user_agent TEXT NOT NULL,
    client_ip TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id, created_at);
CREATE INDEX sessions_org ON sessions (org_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    spent_at TIMESTAMP,
    successor_hash TEXT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE login_throttle (
    email TEXT PRIMARY KEY NOT NULL,
    failures BIGINT NOT NULL,
    last_failure_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP
);

CREATE TABLE email_verifications (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);

CREATE TABLE memberships (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE invitations (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    inviter_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    accepted_at TIMESTAMP,
    accepted_by TEXT,
    revoked_at TIMESTAMP
);
CREATE INDEX invitations_org ON invitations (org_id, created_at);

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    seq BIGINT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    request_id TEXT NOT NULL,
    client_ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    UNIQUE (org_id, seq)
);
CREATE INDEX audit_events_time ON audit_events (org_id, occurred_at);

GRANT USAGE ON SCHEMA public TO tenantry_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON users, organizations, sessions, refresh_tokens,
    login_throttle, email_verifications, memberships, invitations TO tenantry_app;
-- The audit log is append-only for the server.
GRANT SELECT, INSERT ON audit_events TO tenantry_app;

-- Tenant-owned tables: rows of the transaction's organization only.
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY memberships_tenant ON memberships
    USING (org_id = tenantry_tenant()) WITH CHECK (org_id = tenantry_tenant());
-- A user may read their own memberships across organizations (and only read).
CREATE POLICY memberships_own ON memberships FOR SELECT
    USING (user_id = tenantry_user());

ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY invitations_tenant ON invitations
    USING (org_id = tenantry_tenant()) WITH CHECK (org_id = tenantry_tenant());

ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_events_tenant ON audit_events
    USING (org_id = tenantry_tenant()) WITH CHECK (org_id = tenantry_tenant());
