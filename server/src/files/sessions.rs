//! Resumable uploads in unary calls: each chunk is stored as its own small
//! object and recorded in the database, so chunks may arrive at any instance
//! and a session survives restarts. Completing streams the chunks, in order,
//! through the same ingest as `Upload`.

use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;
use tenantry_proto::file::v1 as pb;

use super::{
    convert,
    ingest::{self, Ingest, Limits},
    rules::{self, MAX_CHUNK},
    session_store::{self, Recorded},
    store::{self, NewFile},
    upload,
};
use crate::{
    audit::{self, Action, Event},
    blob::{BlobError, keys},
    context::{Caller, RequestMeta},
    db::{
        Tenant, TenantScope,
        rows::{UploadPartRow, UploadSessionRow},
    },
    error::{ApiError, ApiResult, Violations},
    jobs,
    state::{AppState, after},
};

/// The caller's live session, NOT_FOUND for anyone else's or an expired one.
fn find(
    t: &mut Tenant<'_>,
    caller: &Caller,
    id: &str,
    now: chrono::NaiveDateTime,
) -> ApiResult<UploadSessionRow> {
    session_store::find_upload_session(t, caller.user_id(), id, now)
}

fn session_id(raw: &str) -> ApiResult<crate::ids::UploadSessionId> {
    crate::ids::UploadSessionId::parse(raw).map_err(|d| ApiError::invalid("session_id", d))
}

pub async fn create_upload_session(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::CreateUploadSessionRequest,
) -> ApiResult<pb::CreateUploadSessionResponse> {
    let scope = caller.tenant()?;
    let mut violations = Violations::new();
    let metadata = rules::metadata(request.metadata, "metadata", &mut violations);
    violations.finish()?;
    let metadata = metadata.ok_or_else(|| ApiError::invalid("metadata", "is required"))?;
    let row = state
        .write(move |tx, st| {
            ingest::check_declared(metadata.expected_size, store::limits(tx, &scope)?)?;
            let now = st.now();
            let row = UploadSessionRow {
                id: uuid::Uuid::now_v7().to_string(),
                org_id: scope.org_id().to_string(),
                uploader_id: caller.user_id().to_string(),
                name: metadata.name.clone(),
                content_type: metadata.content_type.clone(),
                expected_size: metadata.expected_size,
                expected_sha256: metadata.expected_sha256.clone(),
                labels: serde_json::to_string(&metadata.labels).map_err(ApiError::internal)?,
                received: 0,
                created_at: now,
                updated_at: now,
                expires_at: after(now, st.config.storage.upload_session_ttl),
            };
            jobs::enqueue(
                tx.conn(),
                jobs::Kind::ExpireUploadSession,
                Some(scope.org_id()),
                &row.id,
                row.expires_at,
            )?;
            let mut t = tx.tenant(&scope)?;
            session_store::insert_upload_session(&mut t, &row)?;
            let event = Event::by(
                &caller,
                Action::FileUploadSessionCreated,
                "upload_session",
                &row.id,
            )
            .details(serde_json::json!({ "name": row.name, "expected_size": row.expected_size }));
            audit::record(&mut t, now, &meta, event)?;
            Ok(row)
        })
        .await?;
    Ok(pb::CreateUploadSessionResponse {
        session: Some(convert::session(&row)),
    })
}

fn wrong_offset(session: &str, expected: i64) -> ApiError {
    ApiError::FailedPrecondition {
        message: format!("the next chunk must start at offset {expected}"),
        violation: Some((
            "OFFSET".into(),
            session.to_owned(),
            format!("expected offset {expected}"),
        )),
    }
}

/// Whether `chunk` at `offset` repeats a stored part: one that starts
/// there, with the same size and the same bytes. Comparing the bytes is what
/// tells a lost response, retried, from different content at a taken offset.
async fn is_retry(
    state: &AppState,
    scope: &TenantScope,
    session: &str,
    offset: i64,
    chunk: &Bytes,
) -> ApiResult<bool> {
    let (s, i) = (scope.clone(), session.to_owned());
    let part = state
        .db
        .read(move |tx| session_store::find_part_at(&mut tx.tenant(&s)?, &i, offset))
        .await?;
    let Some(part) = part.filter(|p| usize::try_from(p.size).ok() == Some(chunk.len())) else {
        return Ok(false);
    };
    Ok(part_bytes(state, &part).await? == *chunk)
}

/// A part's stored bytes, whole: parts are at most [`MAX_CHUNK`] bytes.
async fn part_bytes(state: &AppState, part: &UploadPartRow) -> ApiResult<Bytes> {
    let mut opened = match state.blobs.read(&part.storage_key, 0, None).await {
        // Completing or aborting the session deletes its parts meanwhile.
        Err(BlobError::NotFound) => return Err(ApiError::NotFound("upload session")),
        opened => opened?,
    };
    let mut bytes = BytesMut::with_capacity(usize::try_from(part.size).unwrap_or(0));
    while let Some(piece) = opened.next().await {
        bytes.extend_from_slice(&piece?);
    }
    Ok(bytes.freeze())
}

/// What an append does, decided from the session as read (pure).
#[derive(Debug, PartialEq, Eq)]
enum AppendPlan {
    /// Already received: OK only if it is the same bytes again.
    CheckRetry,
    /// Nothing to store (an empty chunk at the end).
    Nothing,
    /// Store the chunk; the session then holds `total` bytes.
    Store { total: i64 },
}

fn plan_append(
    session: &UploadSessionRow,
    limits: &Limits,
    pending: i64,
    offset: i64,
    len: i64,
) -> ApiResult<AppendPlan> {
    if offset < session.received {
        return Ok(AppendPlan::CheckRetry);
    }
    if offset != session.received {
        return Err(wrong_offset(&session.id, session.received));
    }
    let total = offset + len;
    if total > limits.max_file_size {
        return Err(ingest::too_large(limits.max_file_size));
    }
    if let Some(expected) = session.expected_size
        && total > expected
    {
        return Err(ApiError::invalid(
            "chunk",
            format!("more than the declared {expected} bytes"),
        ));
    }
    // Bytes held by the organization's other unfinished sessions count
    // against the quota too: many sessions, each within it, must not add up
    // to more.
    if total.saturating_add(pending) > limits.quota_left {
        return Err(ingest::over_quota());
    }
    Ok(if len == 0 {
        AppendPlan::Nothing
    } else {
        AppendPlan::Store { total }
    })
}

/// AppendUploadChunk: validate, plan against the session, store the part,
/// then record it (one of several concurrent appends at an offset wins).
pub async fn append_upload_chunk(
    state: &AppState,
    caller: Caller,
    request: pb::AppendUploadChunkRequest,
) -> ApiResult<pb::AppendUploadChunkResponse> {
    let scope = caller.tenant()?;
    let mut violations = Violations::new();
    let id = violations.take(
        "session_id",
        crate::ids::UploadSessionId::parse(&request.session_id),
    );
    if request.offset < 0 {
        violations.add("offset", "must not be negative");
    }
    if request.chunk.len() > MAX_CHUNK {
        violations.add("chunk", format!("must be at most {MAX_CHUNK} bytes"));
    }
    violations.finish()?;
    let id = id.unwrap_or_default();
    let (offset, chunk) = (request.offset, request.chunk);
    let len = i64::try_from(chunk.len()).unwrap_or(i64::MAX);
    let (session, limits, pending) = load_for_append(state, &scope, &caller, &id).await?;
    let answer = |received_bytes| Ok(pb::AppendUploadChunkResponse { received_bytes });
    let total = match plan_append(&session, &limits, pending, offset, len)? {
        AppendPlan::Nothing => return answer(session.received),
        AppendPlan::CheckRetry if is_retry(state, &scope, &id, offset, &chunk).await? => {
            return answer(session.received);
        }
        AppendPlan::CheckRetry => return Err(wrong_offset(&id, session.received)),
        AppendPlan::Store { total } => total,
    };
    let key = keys::upload_part(scope.org_id(), &id, offset);
    state.blobs.put(&key, chunk.clone()).await?;
    let part = UploadPartRow {
        org_id: scope.org_id().to_string(),
        session_id: id.to_string(),
        start_offset: offset,
        size: len,
        storage_key: key.clone(),
    };
    match record_part(state, &scope, part, total).await {
        Ok(Recorded::Won { received }) => answer(received),
        Ok(Recorded::Lost { received }) => {
            state.blobs.delete(&key).await?;
            // OK only if the winner sent the same bytes, else this chunk's
            // bytes are lost and the client must know.
            if offset < received && is_retry(state, &scope, &id, offset, &chunk).await? {
                answer(received)
            } else {
                Err(wrong_offset(&id, received))
            }
        }
        Err(err) => {
            let _ = state.blobs.delete(&key).await;
            Err(err)
        }
    }
}

/// The live session, the organization's limits and the bytes its other
/// unfinished sessions hold.
async fn load_for_append(
    state: &AppState,
    scope: &TenantScope,
    caller: &Caller,
    id: &str,
) -> ApiResult<(UploadSessionRow, Limits, i64)> {
    let (scope, caller, id) = (scope.clone(), caller.clone(), id.to_owned());
    state
        .read(move |tx, st| {
            let now = st.now();
            let limits = store::limits(tx, &scope)?;
            let mut t = tx.tenant(&scope)?;
            let session = find(&mut t, &caller, &id, now)?;
            let pending = session_store::bytes_held_by_others(&mut t, &id, now)?;
            Ok((session, limits, pending))
        })
        .await
}

/// Moves the session from the part's offset to `total` and records the
/// part — unless another append at that offset won.
async fn record_part(
    state: &AppState,
    scope: &TenantScope,
    part: UploadPartRow,
    total: i64,
) -> ApiResult<Recorded> {
    let scope = scope.clone();
    state
        .write(move |tx, st| {
            let now = st.now();
            let expires = after(now, st.config.storage.upload_session_ttl);
            session_store::append_part(&mut tx.tenant(&scope)?, &part, total, now, expires)
        })
        .await
}

pub async fn get_upload_session(
    state: &AppState,
    caller: Caller,
    request: pb::GetUploadSessionRequest,
) -> ApiResult<pb::GetUploadSessionResponse> {
    let scope = caller.tenant()?;
    let id = session_id(&request.session_id)?;
    let now = state.now();
    let row = state
        .db
        .read(move |tx| {
            let mut t = tx.tenant(&scope)?;
            find(&mut t, &caller, &id, now)
        })
        .await?;
    Ok(pb::GetUploadSessionResponse {
        session: Some(convert::session(&row)),
    })
}

pub async fn complete_upload_session(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::CompleteUploadSessionRequest,
) -> ApiResult<pb::CompleteUploadSessionResponse> {
    let scope = caller.tenant()?;
    let id = session_id(&request.session_id)?;
    let now = state.now();
    let (s, i, c) = (scope.clone(), id.clone(), caller.clone());
    let (session, parts, limits) = state
        .db
        .read(move |tx| {
            let limits = store::limits(tx, &s)?;
            let mut t = tx.tenant(&s)?;
            let session = find(&mut t, &c, &i, now)?;
            let parts = session_store::list_parts(&mut t, &i)?;
            Ok((session, parts, limits))
        })
        .await?;
    let metadata = convert::session_metadata(&session);
    let mut next = 0;
    for part in &parts {
        if part.start_offset != next {
            return Err(ApiError::internal(format!(
                "upload session {id} has a gap at {next}"
            )));
        }
        next += part.size;
    }
    let ingest = Ingest::start(
        state.blobs.clone(),
        scope.org_id(),
        limits,
        metadata.expected_size,
    )
    .await?;
    // The parts' bytes, in order, one part open at a time.
    let blobs = state.blobs.clone();
    let keys: Vec<String> = parts.iter().map(|p| p.storage_key.clone()).collect();
    let chunks = futures::stream::iter(keys)
        .then(move |key| {
            let blobs = blobs.clone();
            async move { blobs.read(&key, 0, None).await }
        })
        .flat_map(|opened| match opened {
            Ok(bytes) => bytes
                .map(|chunk| chunk.map(Some).map_err(ApiError::from))
                .boxed(),
            Err(err) => futures::stream::once(async move { Err(ApiError::from(err)) }).boxed(),
        });
    let sha256 = metadata.expected_sha256.clone();
    let ingested = ingest::take_in(ingest, Box::pin(chunks), sha256.as_deref()).await?;
    let new = NewFile::new(&caller, scope, meta, metadata, ingested);
    let committed = upload::commit_and_clean(state, new, Some(id)).await?;
    for part in parts {
        if let Err(err) = state.blobs.delete(&part.storage_key).await {
            tracing::warn!(error = %err, "could not delete an upload part; the janitor will");
        }
    }
    Ok(pb::CompleteUploadSessionResponse {
        file: Some(convert::file(&committed.file, &committed.labels)),
        deduplicated: committed.deduplicated,
    })
}

pub async fn abort_upload_session(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::AbortUploadSessionRequest,
) -> ApiResult<pb::AbortUploadSessionResponse> {
    let scope = caller.tenant()?;
    let id = session_id(&request.session_id)?;
    let parts = state
        .write(move |tx, st| {
            let now = st.now();
            let mut t = tx.tenant(&scope)?;
            find(&mut t, &caller, &id, now)?;
            let parts = session_store::delete_upload_session(&mut t, &id)?;
            let event = Event::by(
                &caller,
                Action::FileUploadSessionAborted,
                "upload_session",
                &id,
            );
            audit::record(&mut t, now, &meta, event)?;
            Ok(parts)
        })
        .await?;
    for key in parts {
        state.blobs.delete(&key).await?;
    }
    Ok(pb::AbortUploadSessionResponse {})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(received: i64, expected_size: Option<i64>) -> UploadSessionRow {
        let now = chrono::NaiveDateTime::default();
        UploadSessionRow {
            id: "s".into(),
            org_id: "o".into(),
            uploader_id: "u".into(),
            name: "n".into(),
            content_type: "text/plain".into(),
            expected_size,
            expected_sha256: None,
            labels: "{}".into(),
            received,
            created_at: now,
            updated_at: now,
            expires_at: now,
        }
    }

    #[test]
    fn appends_are_planned_against_the_session_and_the_limits() {
        let limits = Limits {
            max_file_size: 100,
            quota_left: 150,
        };
        let plan = |received, expected, pending, offset, len| {
            plan_append(&session(received, expected), &limits, pending, offset, len)
                .map_err(|e| tonic::Status::from(e).code())
        };
        use AppendPlan::{CheckRetry, Nothing, Store};
        use tonic::Code::{FailedPrecondition, InvalidArgument, ResourceExhausted};
        assert_eq!(plan(10, None, 0, 10, 5), Ok(Store { total: 15 }));
        assert_eq!(plan(10, None, 0, 0, 5), Ok(CheckRetry), "already received");
        assert_eq!(
            plan(10, None, 0, 12, 5).unwrap_err(),
            FailedPrecondition,
            "a gap"
        );
        assert_eq!(plan(10, None, 0, 10, 0), Ok(Nothing));
        assert_eq!(
            plan(90, None, 0, 90, 11).unwrap_err(),
            InvalidArgument,
            "too large"
        );
        assert_eq!(
            plan(10, Some(12), 0, 10, 5).unwrap_err(),
            InvalidArgument,
            "over declared"
        );
        assert_eq!(
            plan(10, None, 140, 10, 5).unwrap_err(),
            ResourceExhausted,
            "quota shared"
        );
        assert_eq!(plan(10, None, 135, 10, 5), Ok(Store { total: 15 }));
    }
}
