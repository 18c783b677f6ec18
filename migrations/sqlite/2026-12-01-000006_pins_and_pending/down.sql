DROP INDEX invitations_one_pending;
ALTER TABLE sessions DROP COLUMN pin_generation;
