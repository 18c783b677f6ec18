//! A multipart upload the S3 store could not abort (S3 was down when the
//! upload failed) becomes a job: whichever instance runs it aborts the
//! upload once S3 answers — after a restart too, which an in-memory retry
//! would not survive. Failed runs retry with the queue's growing delay.

use std::sync::Arc;

use async_trait::async_trait;

use super::{Kind, Outcome, enqueue};
use crate::{
    blob::AbortLater,
    clock::{SharedClock, naive_now},
    db::Db,
    error::ApiResult,
    state::AppState,
};

/// [`AbortLater`] through the job queue.
pub struct JobQueueAborts {
    db: Db,
    clock: SharedClock,
    /// Wakes this instance's runner, so the first try comes at once.
    wake: Arc<tokio::sync::Notify>,
}

impl JobQueueAborts {
    pub fn new(db: Db, clock: SharedClock, wake: Arc<tokio::sync::Notify>) -> Self {
        Self { db, clock, wake }
    }
}

#[async_trait]
impl AbortLater for JobQueueAborts {
    async fn remember(&self, object: &str, upload_id: &str) -> bool {
        let target = format!("{upload_id}\n{object}");
        let now = naive_now(self.clock.as_ref());
        let written = self
            .db
            .write(move |tx| enqueue(tx.conn(), Kind::AbortMultipartUpload, None, &target, now))
            .await;
        if let Err(err) = &written {
            tracing::warn!(error = %err, "could not queue the abort of a multipart upload");
        }
        self.wake.notify_one();
        written.is_ok()
    }
}

/// Runs the job whose target is `<upload id>\n<object>`.
pub async fn run(state: &AppState, target: &str) -> ApiResult<Outcome> {
    let Some((upload_id, object)) = target.split_once('\n') else {
        tracing::error!("a malformed abort job: dropping it");
        return Ok(Outcome::Done);
    };
    state.blobs.abort_multipart(object, upload_id).await?;
    tracing::info!("aborted a multipart upload left open while S3 was down");
    Ok(Outcome::Done)
}
