-- Email addresses are compared case-insensitively (kept as typed for
-- display): one account per address, whatever its case.
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));
