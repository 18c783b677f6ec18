//! Key pairs of service accounts: made here (the private half is handed out
//! once, in a key file, and never kept) or uploaded as a public key; and
//! the key that verifies an assertion.

// One pkcs8 crate serves both key types.
use ed25519_dalek::pkcs8::{
    DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _, spki::der::pem::LineEnding,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use rsa::{pkcs1::DecodeRsaPublicKey as _, traits::PublicKeyParts as _};
use tenantry_proto::serviceaccount::v1 as pb;

use crate::error::{ApiError, ApiResult};

/// How assertions signed with a key are verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    Ed25519,
    Rs256,
}

impl KeyAlgorithm {
    /// The stored name, also the JWS `alg` of its assertions.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::Ed25519 => "EdDSA",
            KeyAlgorithm::Rs256 => "RS256",
        }
    }

    pub fn from_stored(text: &str) -> ApiResult<Self> {
        match text {
            "EdDSA" => Ok(KeyAlgorithm::Ed25519),
            "RS256" => Ok(KeyAlgorithm::Rs256),
            other => Err(crate::access::UnknownStored::new("key algorithm", other).into()),
        }
    }

    pub fn jws(self) -> Algorithm {
        match self {
            KeyAlgorithm::Ed25519 => Algorithm::EdDSA,
            KeyAlgorithm::Rs256 => Algorithm::RS256,
        }
    }

    pub fn to_proto(self) -> pb::KeyAlgorithm {
        match self {
            KeyAlgorithm::Ed25519 => pb::KeyAlgorithm::Ed25519,
            KeyAlgorithm::Rs256 => pb::KeyAlgorithm::Rs256,
        }
    }
}

/// A public key to keep, and the private key to hand out when the server
/// made the pair.
pub struct NewKey {
    pub algorithm: KeyAlgorithm,
    pub public_pem: String,
    pub private_pem: Option<String>,
}

const RSA_BITS: usize = 2048;

/// Makes a key pair (RSA takes a moment: run it off the async threads).
pub fn generate(algorithm: KeyAlgorithm) -> ApiResult<NewKey> {
    let mut rng = rand::rngs::OsRng;
    let (public_pem, private_pem) = match algorithm {
        KeyAlgorithm::Ed25519 => {
            let key = ed25519_dalek::SigningKey::generate(&mut rng);
            let private = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(ApiError::internal)?;
            let public = key
                .verifying_key()
                .to_public_key_pem(LineEnding::LF)
                .map_err(ApiError::internal)?;
            (public, private.to_string())
        }
        KeyAlgorithm::Rs256 => {
            let key = rsa::RsaPrivateKey::new(&mut rng, RSA_BITS).map_err(ApiError::internal)?;
            let private = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(ApiError::internal)?;
            let public = key
                .to_public_key()
                .to_public_key_pem(LineEnding::LF)
                .map_err(ApiError::internal)?;
            (public, private.to_string())
        }
    };
    Ok(NewKey {
        algorithm,
        public_pem,
        private_pem: Some(private_pem),
    })
}

/// A caller's public key: Ed25519 or RSA of 2048 bits or more, PEM
/// (SubjectPublicKeyInfo, or PKCS#1 for RSA); kept as SubjectPublicKeyInfo.
/// The error is a field violation's description.
pub fn parse_public(pem: &str) -> Result<NewKey, String> {
    let pem = pem.trim();
    if let Ok(key) = ed25519_dalek::VerifyingKey::from_public_key_pem(pem) {
        let public_pem = key
            .to_public_key_pem(LineEnding::LF)
            .map_err(|_| "could not be re-encoded")?;
        return Ok(NewKey {
            algorithm: KeyAlgorithm::Ed25519,
            public_pem,
            private_pem: None,
        });
    }
    let rsa = rsa::RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| rsa::RsaPublicKey::from_pkcs1_pem(pem))
        .map_err(|_| "must be an Ed25519 or RSA public key in PEM".to_owned())?;
    if rsa.size() * 8 < RSA_BITS {
        return Err(format!("an RSA key must have at least {RSA_BITS} bits"));
    }
    let public_pem = rsa
        .to_public_key_pem(LineEnding::LF)
        .map_err(|_| "could not be re-encoded")?;
    Ok(NewKey {
        algorithm: KeyAlgorithm::Rs256,
        public_pem,
        private_pem: None,
    })
}

/// The key that verifies assertions of a stored public key.
pub fn verifying(algorithm: KeyAlgorithm, public_pem: &str) -> ApiResult<DecodingKey> {
    let decoded = match algorithm {
        KeyAlgorithm::Ed25519 => DecodingKey::from_ed_pem(public_pem.as_bytes()),
        KeyAlgorithm::Rs256 => DecodingKey::from_rsa_pem(public_pem.as_bytes()),
    };
    decoded.map_err(ApiError::internal)
}

/// The JSON key file of a generated pair: everything a service needs to
/// sign its assertions, and the `aud` they must name (`issuer`).
pub fn key_file(key_id: &str, client_id: &str, private_pem: &str, issuer: &str) -> String {
    serde_json::json!({
        "type": "serviceaccount",
        "key_id": key_id,
        "client_id": client_id,
        "private_key": private_pem,
        "issuer": issuer,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_back_as_their_algorithm() {
        let made = generate(KeyAlgorithm::Ed25519).unwrap();
        let parsed = parse_public(&made.public_pem).unwrap();
        assert_eq!(parsed.algorithm, KeyAlgorithm::Ed25519);
        assert_eq!(parsed.public_pem, made.public_pem);
        assert!(made.private_pem.unwrap().contains("BEGIN PRIVATE KEY"));
        verifying(KeyAlgorithm::Ed25519, &made.public_pem).unwrap();
    }

    #[test]
    fn weak_or_foreign_keys_are_refused() {
        let small = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 1024).unwrap();
        let pem = small
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        assert!(parse_public(&pem).err().expect("refused").contains("2048"));
        assert!(parse_public("not a key").is_err());
    }
}
