//! `Upload`: metadata first, then bytes, streamed into the blob store.

use tenantry_proto::file::v1::{self as pb, upload_request::Part};
use tonic::Streaming;

use super::{
    convert,
    ingest::{self, Ingest},
    rules, session_store,
    store::{self, Committed, NewFile},
};
use crate::{
    context::{Caller, RequestMeta},
    error::{ApiError, ApiResult, Violations},
    ids::UploadSessionId,
    state::AppState,
};

pub async fn upload(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    mut stream: Streaming<pb::UploadRequest>,
) -> ApiResult<pb::UploadResponse> {
    let scope = caller.tenant()?;
    let _slot = state.upload_slots.take(caller.user_id(), scope.org_id())?;
    let idle = state.config.limits.upload_idle_timeout;
    let first_needed = || {
        ApiError::invalid(
            "metadata",
            "the first message must carry the file's metadata",
        )
    };
    let first = next_message(&mut stream, idle)
        .await?
        .ok_or_else(first_needed)?;
    let Some(Part::Metadata(metadata)) = first.part else {
        return Err(first_needed());
    };
    let mut violations = Violations::new();
    let metadata = rules::metadata(Some(metadata), "metadata", &mut violations);
    violations.finish()?;
    let metadata = metadata.ok_or_else(first_needed)?;

    let (s, sha) = (scope.clone(), metadata.expected_sha256.clone());
    let (limits, stored) = state
        .db
        .read(move |tx| {
            let limits = store::limits(tx, &s)?;
            let stored = match &sha {
                Some(sha) => store::stored_key(&mut tx.tenant(&s)?, sha)?,
                None => None,
            };
            Ok((limits, stored))
        })
        .await?;
    // Content declared by its SHA-256 and already stored is only verified.
    let ingest = match stored {
        Some(key) => Ingest::verify_only(key, limits, metadata.expected_size)?,
        None => {
            let blobs = state.blobs.clone();
            Ingest::start(blobs, scope.org_id(), limits, metadata.expected_size).await?
        }
    };
    let chunks = futures::stream::unfold(stream, move |mut stream| async move {
        let next = match next_message(&mut stream, idle).await {
            Ok(None) => return None,
            Ok(Some(message)) => match message.part {
                Some(Part::Chunk(bytes)) => Ok(Some(bytes)),
                Some(Part::Metadata(_)) => Err(ApiError::invalid(
                    "metadata",
                    "only the first message may carry metadata",
                )),
                None => Ok(None),
            },
            Err(err) => Err(err),
        };
        Some((next, stream))
    });
    let sha256 = metadata.expected_sha256.clone();
    let ingested = ingest::take_in(ingest, Box::pin(chunks), sha256.as_deref()).await?;
    let new = NewFile::new(&caller, scope, meta, metadata, ingested);
    let committed = commit_and_clean(state, new, None).await?;
    Ok(pb::UploadResponse {
        file: Some(convert::file(&committed.file, &committed.labels)),
        deduplicated: committed.deduplicated,
    })
}

/// Commits ingested bytes as a file (ending `session_id` in the same
/// transaction when given); afterwards deletes the bytes if they turned out
/// to be a duplicate, or if the commit failed, so nothing is left behind.
pub async fn commit_and_clean(
    state: &AppState,
    new: NewFile,
    session_id: Option<UploadSessionId>,
) -> ApiResult<Committed> {
    let (written, key) = (new.ingested.written, new.ingested.key.clone());
    let result = state
        .write(move |tx, st| {
            if let Some(id) = &session_id
                && !session_store::end_upload_session(&mut tx.tenant(&new.scope)?, id)?
            {
                return Err(ApiError::NotFound("upload session"));
            }
            store::commit(tx, st.now(), &new)
        })
        .await;
    let duplicate = matches!(&result, Ok(c) if c.deduplicated);
    if written
        && (result.is_err() || duplicate)
        && let Err(err) = state.blobs.delete(&key).await
    {
        // The janitor removes it later as an orphan.
        tracing::warn!(error = %err, %key, "could not delete unused bytes");
    }
    result
}

/// The stream's next message, unless none arrives within `idle`: a stalled
/// upload is ended, and its partial bytes go with it.
async fn next_message(
    stream: &mut Streaming<pb::UploadRequest>,
    idle: std::time::Duration,
) -> ApiResult<Option<pb::UploadRequest>> {
    match tokio::time::timeout(idle, stream.message()).await {
        Ok(message) => Ok(message?),
        Err(_) => Err(ApiError::DeadlineExceeded(format!(
            "no upload message arrived for {} s; the upload was ended",
            idle.as_secs_f64()
        ))),
    }
}
