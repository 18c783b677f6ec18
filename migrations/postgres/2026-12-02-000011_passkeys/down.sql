ALTER TABLE mfa_challenges DROP COLUMN passkey_state;
DROP TABLE passkey_ceremonies;
DROP TABLE passkeys;
