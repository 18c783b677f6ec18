//! Recomputing an organization's chain.

use diesel::{
    ExpressionMethods as _, NullableExpressionMethods as _, QueryDsl as _, RunQueryDsl as _,
    SelectableHelper as _,
};
use tenantry_proto::audit::v1 as pb;

use super::chain::{GENESIS, event_hash};
use crate::{
    db::{
        Db, TenantScope,
        rows::AuditEventRow,
        schema::{audit_events, organizations},
    },
    error::ApiResult,
};

const BATCH: i64 = 1000;

/// Why `row` does not continue the chain at `expected_seq` after `previous`
/// (pure).
fn broken_link(row: &AuditEventRow, expected_seq: i64, previous: &str) -> Option<String> {
    if row.seq != expected_seq {
        Some(format!(
            "sequence jumps from {} to {}: events are missing",
            expected_seq - 1,
            row.seq
        ))
    } else if row.prev_hash != previous {
        Some("does not link to the event before it".to_owned())
    } else if event_hash(row) != row.hash {
        Some("its content does not match its hash: it was altered".to_owned())
    } else {
        None
    }
}

/// The first row past the organization's head: one the server did not
/// record. (One statement, so it sees one snapshot: events committing now
/// are within the head it reads.)
async fn first_past_head(db: &Db, scope: TenantScope) -> ApiResult<Option<AuditEventRow>> {
    let org_id = scope.org_id().to_string();
    let inserted: Vec<AuditEventRow> = db
        .read(move |tx| {
            let head = organizations::table
                .find(&org_id)
                .select(organizations::audit_seq)
                .single_value();
            let mut t = tx.tenant(&scope)?;
            Ok(t.audit_events()
                .filter(audit_events::seq.nullable().gt(head))
                .order(audit_events::seq.asc())
                .limit(1)
                .select(AuditEventRow::as_select())
                .load(t.conn())?)
        })
        .await?;
    Ok(inserted.into_iter().next())
}

pub async fn verify_audit_chain(
    db: &Db,
    scope: TenantScope,
) -> ApiResult<pb::VerifyAuditChainResponse> {
    // The head first: events recorded while this runs come after it and are
    // left for the next check (read last, they would look like a cut-off
    // chain). The head also catches events cut off the end.
    let org_id = scope.org_id().to_string();
    let (head_seq, head): (i64, String) = db
        .read(move |tx| {
            Ok(organizations::table
                .find(&org_id)
                .select((organizations::audit_seq, organizations::audit_head))
                .first(tx.conn())?)
        })
        .await?;
    let mut expected_seq = 1_i64;
    let mut previous = GENESIS.to_owned();
    loop {
        let (scope, after) = (scope.clone(), expected_seq - 1);
        let rows: Vec<AuditEventRow> = db
            .read(move |tx| {
                let mut t = tx.tenant(&scope)?;
                Ok(t.audit_events()
                    .filter(audit_events::seq.gt(after))
                    .filter(audit_events::seq.le(head_seq))
                    .order(audit_events::seq.asc())
                    .limit(BATCH)
                    .select(AuditEventRow::as_select())
                    .load(t.conn())?)
            })
            .await?;
        for row in &rows {
            if let Some(reason) = broken_link(row, expected_seq, &previous) {
                return Ok(pb::VerifyAuditChainResponse {
                    intact: false,
                    events_checked: expected_seq - 1,
                    first_broken_event_id: row.id.clone(),
                    first_broken_sequence: row.seq,
                    reason,
                });
            }
            previous = row.hash.clone();
            expected_seq += 1;
        }
        if i64::try_from(rows.len()).unwrap_or(0) < BATCH {
            break;
        }
    }
    let checked = expected_seq - 1;
    if head_seq != checked || head != previous {
        return Ok(pb::VerifyAuditChainResponse {
            intact: false,
            events_checked: checked,
            first_broken_event_id: String::new(),
            first_broken_sequence: checked + 1,
            reason: format!(
                "the chain ends at event {checked} but the log recorded {head_seq} events"
            ),
        });
    }
    if let Some(row) = first_past_head(db, scope).await? {
        return Ok(pb::VerifyAuditChainResponse {
            intact: false,
            events_checked: checked,
            first_broken_event_id: row.id.clone(),
            first_broken_sequence: row.seq,
            reason: "it lies beyond the head the log recorded: it was inserted".to_owned(),
        });
    }
    Ok(pb::VerifyAuditChainResponse {
        intact: true,
        events_checked: checked,
        ..Default::default()
    })
}
