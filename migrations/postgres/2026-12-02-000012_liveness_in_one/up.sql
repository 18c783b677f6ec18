-- The liveness check behind each instance's session cache in one round
-- trip: the session, its organization and the member's role there now.
--
-- It runs as its caller (tenantry_app, under row-level security; not
-- SECURITY DEFINER). It reads the session row (a global table) and acts for
-- the organization that row names, which only the server writes, to read
-- the one membership of (that organization, that user). The SET clauses
-- make the settings it changes local to the function: the caller's are back
-- when it returns, so nothing it set can reach another statement.
CREATE FUNCTION tenantry_session_liveness(wanted TEXT)
RETURNS TABLE (
    user_id TEXT,
    org_id TEXT,
    revoked_at TIMESTAMP,
    absolute_expires_at TIMESTAMP,
    auth_method TEXT,
    pin_generation BIGINT,
    org_live BOOLEAN,
    require_mfa BOOLEAN,
    role TEXT
)
LANGUAGE plpgsql VOLATILE
SET app.tenant_id = ''
SET app.user_id = ''
AS $$
#variable_conflict use_column
DECLARE
    s sessions%ROWTYPE;
BEGIN
    SELECT * INTO s FROM sessions WHERE sessions.id = wanted;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM set_config('app.tenant_id', COALESCE(s.org_id, ''), true);
    RETURN QUERY
        SELECT s.user_id, s.org_id, s.revoked_at, s.absolute_expires_at,
               s.auth_method, s.pin_generation,
               o.id IS NOT NULL AND o.deleted_at IS NULL,
               COALESCE(o.require_mfa, FALSE),
               m.role
        FROM (SELECT 1) AS one
        LEFT JOIN organizations AS o ON o.id = s.org_id
        LEFT JOIN memberships AS m ON m.org_id = s.org_id AND m.user_id = s.user_id;
END
$$;

REVOKE ALL ON FUNCTION tenantry_session_liveness(TEXT) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantry_session_liveness(TEXT) TO tenantry_app;

-- The same for a personal access token (by its hash): the token, its
-- organization, and its owner's role there now.
CREATE FUNCTION tenantry_token_liveness(wanted TEXT)
RETURNS TABLE (
    id TEXT,
    user_id TEXT,
    org_id TEXT,
    role TEXT,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP,
    last_used_at TIMESTAMP,
    org_live BOOLEAN,
    member_role TEXT
)
LANGUAGE plpgsql VOLATILE
SET app.tenant_id = ''
SET app.user_id = ''
AS $$
#variable_conflict use_column
DECLARE
    t personal_access_tokens%ROWTYPE;
BEGIN
    SELECT * INTO t FROM personal_access_tokens
        WHERE personal_access_tokens.token_hash = wanted;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM set_config('app.tenant_id', t.org_id, true);
    RETURN QUERY
        SELECT t.id, t.user_id, t.org_id, t.role, t.expires_at, t.revoked_at,
               t.last_used_at,
               o.id IS NOT NULL AND o.deleted_at IS NULL,
               m.role
        FROM (SELECT 1) AS one
        LEFT JOIN organizations AS o ON o.id = t.org_id
        LEFT JOIN memberships AS m ON m.org_id = t.org_id AND m.user_id = t.user_id;
END
$$;

-- The same for a service account's credential: the credential, its
-- organization, and the account (its role, whether it is disabled).
CREATE FUNCTION tenantry_service_liveness(wanted TEXT)
RETURNS TABLE (
    service_account_id TEXT,
    org_id TEXT,
    revoked_at TIMESTAMP,
    org_live BOOLEAN,
    account_found BOOLEAN,
    role TEXT,
    disabled_at TIMESTAMP
)
LANGUAGE plpgsql VOLATILE
SET app.tenant_id = ''
SET app.user_id = ''
AS $$
#variable_conflict use_column
DECLARE
    c service_credentials%ROWTYPE;
BEGIN
    SELECT * INTO c FROM service_credentials WHERE service_credentials.id = wanted;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM set_config('app.tenant_id', c.org_id, true);
    RETURN QUERY
        SELECT c.service_account_id, c.org_id, c.revoked_at,
               o.id IS NOT NULL AND o.deleted_at IS NULL,
               a.id IS NOT NULL, a.role, a.disabled_at
        FROM (SELECT 1) AS one
        LEFT JOIN organizations AS o ON o.id = c.org_id
        LEFT JOIN service_accounts AS a
            ON a.id = c.service_account_id AND a.org_id = c.org_id;
END
$$;

REVOKE ALL ON FUNCTION tenantry_token_liveness(TEXT) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantry_token_liveness(TEXT) TO tenantry_app;
REVOKE ALL ON FUNCTION tenantry_service_liveness(TEXT) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenantry_service_liveness(TEXT) TO tenantry_app;
