//! What the fuzz targets share: a token codec with a fixed signing key
//! (`keys/signing.pem`, for fuzzing only), so the seed corpus holds tokens
//! that verify and mutations start from real ones.

use std::sync::Arc;

use tenantry_server::{
    Config,
    crypto::{jwt::TokenCodec, signing_keys::SigningKeys},
};

/// The key page tokens and download links are signed with here.
pub const SERVER_KEY: [u8; 32] = [7; 32];

/// When the fuzzed tokens are checked (2027-01-15).
pub const NOW: i64 = 1_800_000_000;

/// The codec of access tokens, with the fuzzing key.
pub fn token_codec() -> TokenCodec {
    let dir = std::env::temp_dir().join(format!("tenantry-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("keys")).expect("a key folder");
    std::fs::write(
        dir.join("keys/signing.pem"),
        include_str!("../keys/signing.pem"),
    )
    .expect("the fuzzing key");
    let keys = SigningKeys::load(&Config::for_data_dir(&dir)).expect("the fuzzing key loads");
    let _ = std::fs::remove_dir_all(&dir);
    TokenCodec::new(Arc::new(keys), "tenantry".into(), "tenantry".into())
}
