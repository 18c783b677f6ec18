//! The server master key: encrypts secrets at rest (AES-256-GCM, tagged with
//! the key's id so the key can rotate) and derives the server's other secrets.

use std::path::Path;

use aes_gcm::{Aes256Gcm, KeyInit as _, Nonce, aead::Aead as _, aead::Payload};
use hmac::{Hmac, Mac as _};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use super::write_secret_file;
use crate::{config::Config, error::BoxError};

#[derive(Clone)]
struct Key {
    id: String,
    bytes: [u8; 32],
}

pub struct MasterKeys {
    current: Key,
    previous: Vec<Key>,
}

impl std::fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKeys")
            .field("current", &self.current.id)
            .finish_non_exhaustive()
    }
}

/// Encryption failed or the ciphertext was not ours.
#[derive(Debug, thiserror::Error)]
#[error("cannot decrypt: unknown key id or tampered ciphertext")]
pub struct OpenError;

const NONCE_LEN: usize = 12;

impl MasterKeys {
    pub fn load(config: &Config) -> Result<Self, BoxError> {
        let default_path = config.keys_dir().join("master.key");
        let path = config
            .tokens
            .master_key
            .clone()
            .unwrap_or(default_path.clone());
        if !path.exists() && path == default_path {
            let mut bytes = [0_u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            write_secret_file(&path, hex::encode(bytes).as_bytes())?;
            tracing::info!(path = %path.display(), "generated a new master key");
        }
        let current = read_key(&path)?;
        let previous = config
            .tokens
            .previous_master_keys
            .iter()
            .map(|p| read_key(p))
            .collect::<Result<_, _>>()?;
        Ok(Self { current, previous })
    }

    /// A key for one purpose, derived from the current master key.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(&self.current.bytes)
            .expect("HMAC takes any key");
        mac.update(b"tenantry/");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Encrypts `plaintext` bound to `context` (e.g. the row it belongs to);
    /// returns the key id and nonce‖ciphertext.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> (String, Vec<u8>) {
        let cipher = Aes256Gcm::new((&self.current.bytes).into());
        let mut nonce = [0_u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .expect("AES-GCM encryption of a bounded message cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        (self.current.id.clone(), out)
    }

    pub fn open(&self, key_id: &str, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, OpenError> {
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == key_id)
            .ok_or(OpenError)?;
        if sealed.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        Aes256Gcm::new((&key.bytes).into())
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| OpenError)
    }

    pub fn current_id(&self) -> &str {
        &self.current.id
    }
}

fn read_key(path: &Path) -> Result<Key, BoxError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read master key {}: {e}", path.display()))?;
    let bytes: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("master key {} must be 64 hex characters", path.display()))?;
    let id = hex::encode(&Sha256::digest(bytes)[..8]);
    Ok(Key { id, bytes })
}
