DROP FUNCTION tenantry_service_liveness(TEXT);
DROP FUNCTION tenantry_token_liveness(TEXT);
DROP FUNCTION tenantry_session_liveness(TEXT);
