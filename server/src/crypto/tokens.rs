//! Opaque tokens (refresh, invitation, email verification): 256 random bits,
//! handed out once, stored only as a SHA-256 hash.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac as _};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

/// `<prefix>_<43 base64url characters>`; the prefix helps secret scanners and
/// people tell tokens apart.
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What the database keeps of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A token derived from another one under a server key: the same input gives
/// the same output on every instance, and nobody without the key can compute
/// it. The prefix is part of the MAC, so tokens of different kinds derived
/// from one input are unrelated (seeing one tells nothing of another).
pub fn derive_token(key: &[u8; 32], prefix: &str, from: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as hmac::Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(prefix.as_bytes());
    mac.update(&[0]);
    mac.update(from.as_bytes());
    format!(
        "{prefix}_{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hashes_stable() {
        let a = random_token("rt");
        let b = random_token("rt");
        assert_ne!(a, b);
        assert!(a.starts_with("rt_") && a.len() == 3 + 43);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), hash_token(&b));
    }

    #[test]
    fn derived_tokens_depend_on_key_and_input() {
        let k1 = [1_u8; 32];
        let k2 = [2_u8; 32];
        assert_eq!(derive_token(&k1, "rt", "x"), derive_token(&k1, "rt", "x"));
        assert_ne!(derive_token(&k1, "rt", "x"), derive_token(&k2, "rt", "x"));
        assert_ne!(derive_token(&k1, "rt", "x"), derive_token(&k1, "rt", "y"));
        let pkce = derive_token(&k1, "pkce", "x");
        let nonce = derive_token(&k1, "nonce", "x");
        assert_ne!(pkce["pkce_".len()..], nonce["nonce_".len()..]);
    }
}
