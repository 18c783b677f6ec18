-- Email domains an organization claims for single sign-on, and the proof
-- that it owns them: a DNS TXT record `_tenantry-challenge.<domain>`
-- holding `token`. Only verified domains let the provider create or link
-- accounts.
CREATE TABLE sso_domains (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    domain TEXT NOT NULL,
    token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    verified_at TIMESTAMP,
    PRIMARY KEY (org_id, domain)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON sso_domains TO tenantry_app;
ALTER TABLE sso_domains ENABLE ROW LEVEL SECURITY;
ALTER TABLE sso_domains FORCE ROW LEVEL SECURITY;
CREATE POLICY sso_domains_tenant ON sso_domains
    USING (org_id = tenantry_tenant()) WITH CHECK (org_id = tenantry_tenant());
