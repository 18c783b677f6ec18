-- Each move of a session to another organization starts a new pin
-- generation; access tokens carry theirs, so a token of an earlier pin is
-- refused even when the session has moved back to the same organization.
ALTER TABLE sessions ADD COLUMN pin_generation BIGINT NOT NULL DEFAULT 0;

-- One pending invitation per organization and address: older duplicates
-- (left by concurrent calls) are revoked, then the index keeps it so.
UPDATE invitations SET revoked_at = CURRENT_TIMESTAMP
WHERE accepted_at IS NULL AND revoked_at IS NULL
  AND EXISTS (
    SELECT 1 FROM invitations AS newer
    WHERE newer.org_id = invitations.org_id
      AND lower(newer.email) = lower(invitations.email)
      AND newer.accepted_at IS NULL AND newer.revoked_at IS NULL
      AND (newer.created_at > invitations.created_at
           OR (newer.created_at = invitations.created_at AND newer.id > invitations.id)));
CREATE UNIQUE INDEX invitations_one_pending ON invitations (org_id, lower(email))
  WHERE accepted_at IS NULL AND revoked_at IS NULL;
