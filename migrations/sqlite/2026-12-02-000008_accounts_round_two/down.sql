DROP INDEX password_resets_expiry;
DROP INDEX email_verifications_expiry;
DROP INDEX sessions_absolute_expiry;
DROP TABLE mail_outbox;
DROP TABLE rate_windows;
ALTER TABLE login_throttle RENAME COLUMN subject TO email;
DROP TABLE password_resets;
