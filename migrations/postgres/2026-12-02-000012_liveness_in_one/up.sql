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
