DROP FUNCTION tenantry_session_liveness(TEXT);
