//! The file jobs: expiring upload sessions, purging deleted files past their
//! retention, deleting unreferenced blobs, and sweeping the store for orphans
//! (bytes written by an upload that crashed before its commit) and
//! unfinished writes. Each re-checks its target before acting.

use diesel::{ExpressionMethods as _, QueryDsl as _, RunQueryDsl as _};

use super::{session_store, store};
use crate::{
    audit::{self, Action, Actor, Event},
    blob::keys,
    context::RequestMeta,
    db::{
        TenantScope,
        rows::JobRow,
        schema::{blobs, upload_parts},
    },
    error::{ApiError, ApiResult},
    jobs::{Kind, Outcome},
    state::{AppState, after},
};

pub async fn handle(state: &AppState, kind: Kind, job: &JobRow) -> ApiResult<Outcome> {
    let meta = RequestMeta {
        request_id: format!("job:{}", job.id),
        ..RequestMeta::default()
    };
    // The organization of a job row was written by the server itself.
    let scope = job.org_id.clone().map(TenantScope::verified);
    match (kind, scope) {
        (Kind::ExpireUploadSession, Some(scope)) => {
            expire_session(state, scope, &job.target, meta).await
        }
        (Kind::PurgeDeletedFile, Some(scope)) => {
            purge_deleted(state, scope, &job.target, meta).await
        }
        (Kind::DeleteBlob, Some(scope)) => delete_blob(state, scope, &job.target).await,
        (Kind::SweepStore, _) => sweep(state).await,
        (Kind::SendMail | Kind::Housekeeping | Kind::AbortMultipartUpload, _) => {
            Err(ApiError::internal("not a janitor job"))
        }
        (_, None) => Err(ApiError::internal("job without an organization")),
    }
}

async fn expire_session(
    state: &AppState,
    scope: TenantScope,
    session_id: &str,
    meta: RequestMeta,
) -> ApiResult<Outcome> {
    let now = state.now();
    let id = session_id.to_owned();
    let outcome = state
        .write(move |tx, st| {
            let mut t = tx.tenant(&scope)?;
            let Some(session) = session_store::find_any_upload_session(&mut t, &id)? else {
                return Ok((Outcome::Done, Vec::new()));
            };
            if session.expires_at > now {
                return Ok((Outcome::Later(session.expires_at), Vec::new()));
            }
            let parts = session_store::delete_upload_session(&mut t, &id)?;
            let event = Event::new(
                Actor::System,
                Action::FileUploadSessionExpired,
                "upload_session",
                &id,
            )
            .details(serde_json::json!({ "received": session.received }));
            audit::record(&mut t, st.now(), &meta, event)?;
            Ok((Outcome::Done, parts))
        })
        .await?;
    let (outcome, parts) = outcome;
    for key in parts {
        state.blobs.delete(&key).await?;
    }
    Ok(outcome)
}

async fn purge_deleted(
    state: &AppState,
    scope: TenantScope,
    file_id: &str,
    meta: RequestMeta,
) -> ApiResult<Outcome> {
    let now = state.now();
    let id = file_id.to_owned();
    state
        .write(move |tx, st| {
            let mut t = tx.tenant(&scope)?;
            let file = match store::find(&mut t, &id, true) {
                Ok(file) => file,
                Err(ApiError::NotFound(_)) => return Ok(Outcome::Done),
                Err(err) => return Err(err),
            };
            let Some(deleted_at) = file.deleted_at else {
                return Ok(Outcome::Done); // restored
            };
            let due = store::purge_time(st, deleted_at);
            if due > now {
                return Ok(Outcome::Later(due));
            }
            // The bytes, if no file needs them, go with the DeleteBlob job.
            store::purge(tx, st, &scope, &meta, Actor::System, &file)?;
            Ok(Outcome::Done)
        })
        .await
        .or_else(|err| match err {
            // Purged meanwhile by someone else (rolled back here): done.
            ApiError::NotFound(_) => Ok(Outcome::Done),
            err => Err(err),
        })
}

async fn delete_blob(state: &AppState, scope: TenantScope, key: &str) -> ApiResult<Outcome> {
    let k = key.to_owned();
    let referenced = state
        .db
        .read(move |tx| {
            let mut t = tx.tenant(&scope)?;
            let count: i64 = t
                .blobs()
                .filter(blobs::storage_key.eq(&k))
                .count()
                .get_result(t.conn())?;
            Ok(count > 0)
        })
        .await?;
    if !referenced {
        state.blobs.delete(key).await?;
    }
    Ok(Outcome::Done)
}

/// Removes unfinished writes and blobs nothing refers to, older than the
/// grace period (younger ones may belong to an upload still committing).
async fn sweep(state: &AppState) -> ApiResult<Outcome> {
    let now = state.clock.now();
    let grace = chrono::Duration::from_std(state.config.storage.orphan_grace)
        .unwrap_or(chrono::Duration::hours(1));
    let cutoff = now - grace;
    // The recurring sweep is also when spent assertion ids are forgotten.
    crate::service_accounts::exchange::forget_spent_assertions(state).await?;
    let unfinished = state.blobs.sweep_unfinished(cutoff).await?;
    let mut orphans = 0_u64;
    let mut token = None;
    loop {
        let (page, next) = state.blobs.list("orgs/", token).await?;
        for listed in page.into_iter().filter(|l| l.modified < cutoff) {
            if is_orphan(state, &listed.key).await? {
                state.blobs.delete(&listed.key).await?;
                orphans += 1;
            }
        }
        match next {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    if unfinished + orphans > 0 {
        tracing::info!(unfinished, orphans, "swept the blob store");
    }
    Ok(Outcome::Later(after(
        now.naive_utc(),
        state.config.storage.janitor_interval,
    )))
}

/// Whether no blob or upload part row refers to `key`.
async fn is_orphan(state: &AppState, key: &str) -> ApiResult<bool> {
    let Some(org) = keys::org_of(key) else {
        return Ok(false); // not ours to judge
    };
    // The organization comes from a key the server listed from its own store.
    let scope = TenantScope::verified(org);
    let k = key.to_owned();
    let is_part = keys::session_of(key).is_some();
    state
        .db
        .read(move |tx| {
            let mut t = tx.tenant(&scope)?;
            let count: i64 = if is_part {
                t.upload_parts()
                    .filter(upload_parts::storage_key.eq(&k))
                    .count()
                    .get_result(t.conn())?
            } else {
                t.blobs()
                    .filter(blobs::storage_key.eq(&k))
                    .count()
                    .get_result(t.conn())?
            };
            Ok(count == 0)
        })
        .await
}
