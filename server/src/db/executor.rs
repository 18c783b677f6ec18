//! Where queries run: a few long-lived threads, each holding a pooled
//! connection, taking jobs from a queue. Like `spawn_blocking` nothing
//! blocks a runtime thread; unlike it, a thread that finishes a job takes the
//! next one without a wake-up, and no idle threads pile up to be woken one
//! per job — on a virtual machine those cross-CPU wake-ups cost more than a
//! SQLite lookup (measured in BENCHMARKS.md).
//!
//! With a writer lane (SQLite, which has one writer at a time), writes go to
//! one thread of their own, in order, instead of contending for the lock.

use std::{
    any::Any,
    panic::AssertUnwindSafe,
    sync::{Arc, OnceLock},
    time::Instant,
};

use diesel::connection::{Connection, TransactionManager as _};
use tracing::Span;

use super::{
    connection::{AnyConnection, Manager},
    settings::Settings,
};
use crate::error::{ApiError, ApiResult};

/// A query: runs on a connection with what its worker knows of the
/// connection's settings (or learns there is none), and says whether it found
/// the database gone, so the worker drops that connection.
type Job = Box<dyn FnOnce(Option<(&mut AnyConnection, &mut Settings)>) -> bool + Send>;
type TxManager = <AnyConnection as Connection>::TransactionManager;

#[derive(Clone)]
pub struct Executor {
    jobs: crossbeam_channel::Sender<Job>,
    writes: Option<crossbeam_channel::Sender<Job>>,
    pool: r2d2::Pool<Manager>,
    /// Where each job's wait for a worker is recorded, once metered.
    waits: Arc<OnceLock<metrics::Histogram>>,
}

impl Executor {
    /// Starts `threads` workers on connections from `pool`, and a writer of
    /// its own when `writer_lane`.
    pub fn start(
        pool: r2d2::Pool<Manager>,
        threads: usize,
        writer_lane: bool,
    ) -> std::io::Result<Self> {
        let lane = |name: String| -> std::io::Result<crossbeam_channel::Sender<Job>> {
            let (jobs, queue) = crossbeam_channel::unbounded::<Job>();
            let pool = pool.clone();
            std::thread::Builder::new()
                .name(name)
                .spawn(move || work(&queue, &pool))?;
            Ok(jobs)
        };
        let (jobs, queue) = crossbeam_channel::unbounded::<Job>();
        for n in 0..threads.max(1) {
            let (queue, pool) = (queue.clone(), pool.clone());
            std::thread::Builder::new()
                .name(format!("tenantry-db-{n}"))
                .spawn(move || work(&queue, &pool))?;
        }
        let writes = if writer_lane {
            Some(lane("tenantry-db-writer".into())?)
        } else {
            None
        };
        Ok(Self {
            jobs,
            writes,
            pool,
            waits: Arc::default(),
        })
    }

    /// Records from now on how long each query waits for a worker.
    pub fn meter_waits(&self, waits: metrics::Histogram) {
        let _ = self.waits.set(waits);
    }

    /// Queries waiting for a worker.
    pub fn queue_depth(&self) -> usize {
        self.jobs.len()
            + self
                .writes
                .as_ref()
                .map_or(0, crossbeam_channel::Sender::len)
    }

    /// The pool's connections, open and idle.
    pub fn pool_state(&self) -> r2d2::State {
        self.pool.state()
    }

    /// Runs `f` as [`Executor::run`], on the writer lane when there is one.
    pub async fn run_write<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection, &mut Settings) -> ApiResult<T> + Send + 'static,
    {
        self.submit(self.writes.as_ref().unwrap_or(&self.jobs), f)
            .await
    }

    /// Runs `f` on a worker with a connection, in the caller's tracing span;
    /// a panic inside is re-raised here.
    pub async fn run<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection, &mut Settings) -> ApiResult<T> + Send + 'static,
    {
        self.submit(&self.jobs, f).await
    }

    async fn submit<T, F>(&self, lane: &crossbeam_channel::Sender<Job>, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection, &mut Settings) -> ApiResult<T> + Send + 'static,
    {
        let (done, outcome) =
            tokio::sync::oneshot::channel::<Result<ApiResult<T>, Box<dyn Any + Send>>>();
        let span = Span::current();
        let (queued, waits) = (Instant::now(), self.waits.clone());
        let job: Job = Box::new(move |held| {
            if let Some(waits) = waits.get() {
                waits.record(queued.elapsed().as_secs_f64());
            }
            let Some((conn, kept)) = held else {
                let _ = done.send(Ok(Err(ApiError::database_gone())));
                return false;
            };
            let _entered = span.enter();
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| f(conn, kept)));
            if !matches!(result, Ok(Ok(_))) {
                // Whatever failed may have left the settings anything.
                *kept = Settings::Unknown;
            }
            let gone = matches!(result, Ok(Err(ApiError::Unavailable(_))));
            let _ = done.send(result);
            gone
        });
        lane.send(job)
            .map_err(|_| ApiError::Unavailable("the database workers have stopped".into()))?;
        match outcome.await {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => Err(ApiError::internal("a database worker dropped a job")),
        }
    }
}

/// Takes jobs until the executor is dropped, checking a connection out of the
/// pool when it has none: at start, after a transaction broke, or after the
/// database went away (a restart, a failover), so it recovers by itself.
fn work(queue: &crossbeam_channel::Receiver<Job>, pool: &r2d2::Pool<Manager>) {
    let mut held: Option<(r2d2::PooledConnection<Manager>, Settings)> = None;
    while let Ok(job) = queue.recv() {
        if held.is_none() {
            match pool.get() {
                Ok(conn) => held = Some((conn, Settings::Unknown)),
                Err(err) => {
                    tracing::warn!(error = %err, "no database connection for a job");
                    // The job answers its caller UNAVAILABLE.
                    job(None);
                    continue;
                }
            }
        }
        let Some((conn, kept)) = held.as_mut() else {
            continue;
        };
        let gone = job(Some((&mut **conn, kept)));
        // A connection whose transaction state is unknown (a panic midway)
        // goes back to the pool, which drops it; so does a dead one.
        if gone || TxManager::is_broken_transaction_manager(conn) {
            held = None;
        }
    }
}
