//! An access token as a caller sends it (`authorization: Bearer …`): any
//! text is refused or verified, never a panic; only the fuzzing key's
//! tokens verify.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use tenantry_server::crypto::jwt::TokenCodec;

static CODEC: LazyLock<TokenCodec> = LazyLock::new(tenantry_fuzz::token_codec);

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let now = chrono::DateTime::from_timestamp(tenantry_fuzz::NOW, 0).expect("a time");
    if let Ok(claims) = CODEC.verify(token, now) {
        assert_eq!(claims.iss, "tenantry");
        assert!(
            claims.exp > tenantry_fuzz::NOW - 60,
            "an expired token verified"
        );
    }
});
