//! Background work in a database-backed queue, so any instance can do it and
//! none of it is lost on a crash. A job names its organization and target;
//! its handler re-checks both before acting (the world may have moved on:
//! a file restored, a session completed).
//!
//! Every instance polls for due jobs every `--job-interval`; a job is
//! claimed with a compare-and-set on its lease, so two instances never run
//! the same job at once. A failing job is retried with a growing delay.

use chrono::NaiveDateTime;
use diesel::{
    BoolExpressionMethods as _, ExpressionMethods as _, QueryDsl as _, RunQueryDsl as _,
    SelectableHelper as _,
};
use tracing::Instrument as _;

mod abort_later;
pub use abort_later::JobQueueAborts;

use crate::{
    db::{AnyConnection, rows::JobRow, schema::jobs, upsert},
    error::ApiResult,
    files::janitor,
    state::{AppState, after},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Target: an upload session; removes it and its bytes once expired.
    ExpireUploadSession,
    /// Target: a deleted file; purges it once its retention has passed.
    PurgeDeletedFile,
    /// Target: a blob key no file refers to any more.
    DeleteBlob,
    /// Recurring: removes orphan blobs and unfinished writes.
    SweepStore,
    /// Target: a message in the mail outbox; delivers it to the relay.
    SendMail,
    /// Recurring: deletes what has expired (sessions, tokens, counters).
    Housekeeping,
    /// Target: `<upload id>\n<object>`, a multipart upload the S3 store
    /// could not abort when it failed; aborts it once S3 answers.
    AbortMultipartUpload,
}

impl Kind {
    const ALL: [Kind; 7] = [
        Kind::ExpireUploadSession,
        Kind::PurgeDeletedFile,
        Kind::DeleteBlob,
        Kind::SweepStore,
        Kind::SendMail,
        Kind::Housekeeping,
        Kind::AbortMultipartUpload,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ExpireUploadSession => "upload_session.expire",
            Kind::PurgeDeletedFile => "file.purge_deleted",
            Kind::DeleteBlob => "blob.delete",
            Kind::SweepStore => "store.sweep",
            Kind::SendMail => "mail.send",
            Kind::Housekeeping => "housekeeping",
            Kind::AbortMultipartUpload => "blob.abort_multipart",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// What a handler decided.
pub enum Outcome {
    Done,
    /// Not yet: run again at this time.
    Later(NaiveDateTime),
}

/// How long a claimed job is not offered to other instances.
const LEASE: std::time::Duration = std::time::Duration::from_secs(300);
const BATCH: i64 = 20;

pub fn enqueue(
    conn: &mut AnyConnection,
    kind: Kind,
    org_id: Option<&str>,
    target: &str,
    run_at: NaiveDateTime,
) -> ApiResult<()> {
    let row = JobRow {
        id: uuid::Uuid::now_v7().to_string(),
        kind: kind.as_str().to_owned(),
        org_id: org_id.map(str::to_owned),
        target: target.to_owned(),
        run_at,
        attempts: 0,
        locked_until: None,
        last_error: None,
        created_at: run_at,
    };
    diesel::insert_into(jobs::table)
        .values(&row)
        .execute(conn)?;
    Ok(())
}

/// Makes sure the recurring jobs exist.
pub async fn schedule_recurring(state: &AppState) -> ApiResult<()> {
    let interval = state.config.storage.janitor_interval;
    let run_at = after(state.now(), interval);
    state
        .db
        .write(move |tx| {
            for kind in [Kind::SweepStore, Kind::Housekeeping] {
                let row = JobRow {
                    id: kind.as_str().to_owned(),
                    kind: kind.as_str().to_owned(),
                    org_id: None,
                    target: String::new(),
                    run_at,
                    attempts: 0,
                    locked_until: None,
                    last_error: None,
                    created_at: run_at,
                };
                upsert::insert_job_if_absent(tx.conn(), &row)?;
            }
            Ok(())
        })
        .await
}

/// Jobs due now, and how long the oldest of them has waited.
#[derive(Debug, Clone, Copy)]
pub struct QueueStats {
    pub due: i64,
    pub oldest_due_seconds: f64,
}

/// What the job queue holds now (read at each metrics scrape).
pub async fn queue_stats(state: &AppState) -> ApiResult<QueueStats> {
    let now = state.now();
    state
        .db
        .read(move |tx| {
            let due = jobs::table.filter(jobs::run_at.le(now));
            let count: i64 = due.count().get_result(tx.conn())?;
            let oldest: Option<NaiveDateTime> = due
                .select(diesel::dsl::min(jobs::run_at))
                .first(tx.conn())?;
            let waited = oldest.map_or(0.0, |at| (now - at).as_seconds_f64());
            Ok(QueueStats {
                due: count,
                oldest_due_seconds: waited.max(0.0),
            })
        })
        .await
}

#[derive(Clone)]
pub struct JobRunner {
    state: AppState,
}

impl JobRunner {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    /// Runs every job that is due now; returns how many ran.
    pub async fn run_due(&self) -> ApiResult<usize> {
        let mut ran = 0;
        loop {
            let claimed = self.claim().await?;
            if claimed.is_empty() {
                return Ok(ran);
            }
            for job in claimed {
                self.run(job).await?;
                ran += 1;
            }
        }
    }

    /// Polls every `interval`, and at once when this instance queued a job
    /// that is due now (a mail), until the task is aborted.
    pub fn spawn(self, interval: std::time::Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let wake = self.state.job_wake.clone();
            loop {
                tokio::select! {
                    () = tokio::time::sleep(interval) => {}
                    () = wake.notified() => {}
                }
                if let Err(err) = self.run_due().await {
                    tracing::warn!(error = %err, "background jobs could not run");
                }
            }
        })
    }

    async fn claim(&self) -> ApiResult<Vec<JobRow>> {
        let now = self.state.now();
        let lease = after(now, LEASE);
        self.state
            .db
            .write(move |tx| {
                let due: Vec<JobRow> = jobs::table
                    .filter(jobs::run_at.le(now))
                    .filter(jobs::locked_until.is_null().or(jobs::locked_until.lt(now)))
                    .order(jobs::run_at.asc())
                    .limit(BATCH)
                    .select(JobRow::as_select())
                    .load(tx.conn())?;
                let mut claimed = Vec::new();
                for job in due {
                    let won = diesel::update(
                        jobs::table
                            .find(&job.id)
                            .filter(jobs::locked_until.is_null().or(jobs::locked_until.lt(now))),
                    )
                    .set((
                        jobs::locked_until.eq(lease),
                        jobs::attempts.eq(jobs::attempts + 1),
                    ))
                    .execute(tx.conn())?;
                    if won == 1 {
                        claimed.push(job);
                    }
                }
                Ok(claimed)
            })
            .await
    }

    async fn run(&self, job: JobRow) -> ApiResult<()> {
        let span = tracing::info_span!("job", id = %job.id, kind = %job.kind, org_id = ?job.org_id);
        self.run_in_span(job).instrument(span).await
    }

    async fn run_in_span(&self, job: JobRow) -> ApiResult<()> {
        let outcome = match Kind::parse(&job.kind) {
            Some(Kind::SendMail) => self.state.mailer.deliver(&job.target, job.attempts).await,
            Some(Kind::Housekeeping) => crate::housekeeping::run(&self.state).await,
            Some(Kind::AbortMultipartUpload) => abort_later::run(&self.state, &job.target).await,
            Some(kind) => janitor::handle(&self.state, kind, &job).await,
            None => {
                tracing::error!("unknown job kind: dropping it");
                Ok(Outcome::Done)
            }
        };
        let id = job.id.clone();
        let now = self.state.now();
        let kind = Kind::parse(&job.kind).map_or("unknown", Kind::as_str);
        match outcome {
            Ok(Outcome::Done) => {
                self.state
                    .db
                    .write(move |tx| Ok(diesel::delete(jobs::table.find(&id)).execute(tx.conn())?))
                    .await?;
                self.state.meters.job_done(kind);
            }
            Ok(Outcome::Later(at)) => self.release(id, at, None).await?,
            Err(err) => {
                self.state.meters.job_failed(kind);
                let delay = std::time::Duration::from_secs(60 << job.attempts.clamp(0, 6));
                tracing::warn!(error = %err, attempts = job.attempts + 1, "job failed; will retry");
                self.release(id, after(now, delay), Some(err.to_string()))
                    .await?;
            }
        }
        Ok(())
    }

    /// Unlocks a job to run again at `at`: a fresh start when it asked to
    /// come back later, or with its error kept when it failed.
    async fn release(
        &self,
        id: String,
        at: NaiveDateTime,
        failure: Option<String>,
    ) -> ApiResult<()> {
        self.state
            .db
            .write(move |tx| {
                let job = jobs::table.find(&id);
                diesel::update(job)
                    .set((
                        jobs::run_at.eq(at),
                        jobs::locked_until.eq(None::<NaiveDateTime>),
                    ))
                    .execute(tx.conn())?;
                match failure {
                    None => diesel::update(job)
                        .set(jobs::attempts.eq(0))
                        .execute(tx.conn())?,
                    Some(message) => diesel::update(job)
                        .set(jobs::last_error.eq(message))
                        .execute(tx.conn())?,
                };
                Ok(())
            })
            .await
    }
}
