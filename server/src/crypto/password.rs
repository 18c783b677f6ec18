//! argon2id password hashing with OWASP parameters, on dedicated threads
//! that by default run under `SCHED_IDLE`: a storm of sign-ins queues for them
//! and uses only the CPU time other calls leave, instead of starving them.
//! (Measured: a lowered nice value is not enough — a thread that is always
//! runnable still gets time slices of milliseconds that delay requests; an
//! idle-class thread is preempted at once. See BENCHMARKS.md.)

use std::{any::Any, panic::AssertUnwindSafe};

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version,
    password_hash::SaltString,
};

use crate::{
    config::PasswordConfig,
    error::{ApiError, ApiResult, BoxError},
};

type Job = Box<dyn FnOnce() + Send>;

pub struct PasswordHasher {
    params: Params,
    jobs: crossbeam_channel::Sender<Job>,
    /// Verified against when the account does not exist, so an unknown email
    /// costs exactly what a wrong password costs.
    dummy_hash: String,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    pub fn new(config: &PasswordConfig) -> Result<Self, BoxError> {
        let params = Params::new(
            config.argon2_memory_kib,
            config.argon2_iterations,
            config.argon2_parallelism,
            None,
        )?;
        let threads = match config.hash_concurrency {
            0 => (std::thread::available_parallelism().map_or(1, |n| n.get()) / 2).max(1),
            n => n,
        };
        let (jobs, queue) = crossbeam_channel::unbounded::<Job>();
        for n in 0..threads {
            let queue = queue.clone();
            let idle = config.hash_scheduling == "idle";
            std::thread::Builder::new()
                .name(format!("tenantry-hash-{n}"))
                .spawn(move || {
                    if idle {
                        run_when_idle();
                    }
                    while let Ok(job) = queue.recv() {
                        job();
                    }
                })?;
        }
        let mut random = [0_u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut random);
        let dummy_hash = hash_with(&params, &random)?;
        Ok(Self {
            params,
            jobs,
            dummy_hash,
        })
    }

    pub async fn hash(&self, password: String) -> ApiResult<String> {
        let params = self.params.clone();
        self.on_hash_thread(move || {
            hash_with(&params, password.as_bytes()).map_err(ApiError::internal)
        })
        .await
    }

    /// Checks `password` against `stored`, or against a dummy hash of the same
    /// cost when there is no stored hash (and then answers false).
    pub async fn verify(&self, password: String, stored: Option<String>) -> ApiResult<bool> {
        let exists = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.clone());
        let matches = self
            .on_hash_thread(move || {
                let parsed = PasswordHash::new(&hash).map_err(ApiError::internal)?;
                Ok(Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok())
            })
            .await?;
        Ok(exists && matches)
    }

    /// Runs `f` on a hashing thread; a panic inside is re-raised here.
    async fn on_hash_thread<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        let (done, outcome) =
            tokio::sync::oneshot::channel::<Result<ApiResult<T>, Box<dyn Any + Send>>>();
        let job: Job = Box::new(move || {
            let _ = done.send(std::panic::catch_unwind(AssertUnwindSafe(f)));
        });
        self.jobs
            .send(job)
            .map_err(|_| ApiError::internal("the hashing threads have stopped"))?;
        match outcome.await {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => Err(ApiError::internal("a hashing thread dropped a job")),
        }
    }
}

fn hash_with(params: &Params, password: &[u8]) -> Result<String, argon2::password_hash::Error> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Ok(argon.hash_password(password, &salt)?.to_string())
}

/// Puts the calling thread in the `SCHED_IDLE` class (on Linux the policy
/// belongs to the thread; pid 0 is the calling thread).
#[allow(unsafe_code)]
fn run_when_idle() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid, initialized sched_param that outlives the
    // call; sched_setscheduler only reads it.
    let result = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &raw const param) };
    if result != 0 {
        tracing::warn!("could not move a hashing thread to SCHED_IDLE; it runs at normal priority");
    }
}
