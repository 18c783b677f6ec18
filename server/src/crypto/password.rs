//! argon2id password hashing with OWASP parameters, on the blocking pool and
//! behind a semaphore: a storm of sign-ins queues for a few cores instead of
//! starving every other call.

use std::sync::Arc;

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version,
    password_hash::SaltString,
};
use tokio::sync::Semaphore;

use crate::{
    config::PasswordConfig,
    error::{ApiError, ApiResult, BoxError},
};

pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
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
        let concurrency = match config.hash_concurrency {
            0 => (std::thread::available_parallelism().map_or(1, |n| n.get()) / 2).max(1),
            n => n,
        };
        let mut random = [0_u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut random);
        let dummy_hash = hash_with(&params, &random)?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(concurrency)),
            dummy_hash,
        })
    }

    pub async fn hash(&self, password: String) -> ApiResult<String> {
        let params = self.params.clone();
        self.blocking(move || hash_with(&params, password.as_bytes()).map_err(ApiError::internal))
            .await
    }

    /// Checks `password` against `stored`, or against a dummy hash of the same
    /// cost when there is no stored hash (and then answers false).
    pub async fn verify(&self, password: String, stored: Option<String>) -> ApiResult<bool> {
        let exists = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.clone());
        let matches = self
            .blocking(move || {
                let parsed = PasswordHash::new(&hash).map_err(ApiError::internal)?;
                Ok(Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok())
            })
            .await?;
        Ok(exists && matches)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        let _permit = self.permits.acquire().await.map_err(ApiError::internal)?;
        match tokio::task::spawn_blocking(f).await {
            Ok(result) => result,
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(err) => Err(ApiError::internal(err)),
        }
    }
}

fn hash_with(params: &Params, password: &[u8]) -> Result<String, argon2::password_hash::Error> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Ok(argon.hash_password(password, &salt)?.to_string())
}
