//! Ed25519 keys that sign access tokens. One key signs; earlier keys stay
//! accepted for verification by their `kid` until their tokens have expired.

use std::{collections::HashMap, path::Path};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use ed25519_dalek::{
    SigningKey, VerifyingKey,
    pkcs8::{
        DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _,
        spki::der::pem::LineEnding,
    },
};
use jsonwebtoken::{DecodingKey, EncodingKey};
use sha2::{Digest as _, Sha256};

use super::write_secret_file;
use crate::{config::Config, error::BoxError};

/// A public key as published in the JWKS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwk {
    pub kid: String,
    /// base64url of the 32-byte public key.
    pub x: String,
}

pub struct SigningKeys {
    active_kid: String,
    active: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
    published: Vec<PublicJwk>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("active_kid", &self.active_kid)
            .field("published", &self.published)
            .finish_non_exhaustive()
    }
}

impl SigningKeys {
    /// Loads the configured keys; generates the signing key on first start
    /// when it is the default one in the data folder.
    pub fn load(config: &Config) -> Result<Self, BoxError> {
        let default_path = config.keys_dir().join("signing.pem");
        let path = config
            .tokens
            .signing_key
            .clone()
            .unwrap_or(default_path.clone());
        if !path.exists() && path == default_path {
            generate(&path)?;
            tracing::info!(path = %path.display(), "generated a new signing key");
        }
        let pem = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read signing key {}: {e}", path.display()))?;
        let signing = SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
            format!(
                "signing key {} is not a PKCS#8 Ed25519 key: {e}",
                path.display()
            )
        })?;
        let active_jwk = jwk(&signing.verifying_key());
        let mut keys = Self {
            active_kid: active_jwk.kid.clone(),
            active: EncodingKey::from_ed_pem(pem.as_bytes())?,
            verifying: HashMap::new(),
            published: Vec::new(),
        };
        keys.accept(active_jwk)?;
        for extra in &config.tokens.verification_keys {
            keys.accept(jwk(&read_verifying_key(extra)?))?;
        }
        Ok(keys)
    }

    fn accept(&mut self, key: PublicJwk) -> Result<(), BoxError> {
        if self.verifying.contains_key(&key.kid) {
            return Ok(());
        }
        self.verifying
            .insert(key.kid.clone(), DecodingKey::from_ed_components(&key.x)?);
        self.published.push(key);
        Ok(())
    }

    pub fn active_kid(&self) -> &str {
        &self.active_kid
    }

    pub fn active(&self) -> &EncodingKey {
        &self.active
    }

    pub fn verifying(&self, kid: &str) -> Option<&DecodingKey> {
        self.verifying.get(kid)
    }

    /// Every key that verifies tokens, the signing one first.
    pub fn published(&self) -> &[PublicJwk] {
        &self.published
    }
}

/// Writes a fresh key to `path` (which must not exist) and returns its kid.
pub fn generate(path: &Path) -> Result<String, BoxError> {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let pem = key.to_pkcs8_pem(LineEnding::LF)?;
    write_secret_file(path, pem.as_bytes())?;
    Ok(jwk(&key.verifying_key()).kid)
}

fn read_verifying_key(path: &Path) -> Result<VerifyingKey, BoxError> {
    let pem = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read verification key {}: {e}", path.display()))?;
    if let Ok(private) = SigningKey::from_pkcs8_pem(&pem) {
        return Ok(private.verifying_key());
    }
    VerifyingKey::from_public_key_pem(&pem).map_err(|e| {
        format!(
            "verification key {} is not an Ed25519 PEM key: {e}",
            path.display()
        )
        .into()
    })
}

/// The key's JWK and its RFC 7638 thumbprint as kid.
fn jwk(key: &VerifyingKey) -> PublicJwk {
    let x = URL_SAFE_NO_PAD.encode(key.as_bytes());
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
    PublicJwk { kid, x }
}
