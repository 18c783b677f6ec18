//! The hash chain: an event's hash covers every stored field and its
//! predecessor's hash, so editing, removing or reordering an event breaks the
//! chain there.

use sha2::{Digest as _, Sha256};

use crate::db::rows::AuditEventRow;

/// The predecessor of an organization's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Hex SHA-256 of the event (its `hash` field itself excluded).
pub fn event_hash(row: &AuditEventRow) -> String {
    // A JSON array of strings is an unambiguous encoding of the fields.
    let fields = serde_json::json!([
        row.id,
        row.org_id,
        row.seq.to_string(),
        crate::paging::time_key(row.occurred_at),
        row.actor_type,
        row.actor_id,
        row.action,
        row.target_type,
        row.target_id,
        row.outcome,
        row.request_id,
        row.client_ip,
        row.user_agent,
        row.details,
    ]);
    let mut hasher = Sha256::new();
    hasher.update(row.prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(fields.to_string().as_bytes());
    hex::encode(hasher.finalize())
}
