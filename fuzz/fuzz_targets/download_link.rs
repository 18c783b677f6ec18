//! A signed download link's token (`/files/download?token=…`): nothing is
//! parsed before its MAC checks, so any text is refused without a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tenantry_server::files::download_url::is_valid_token;

fuzz_target!(|token: &str| {
    let _ = is_valid_token(&tenantry_fuzz::SERVER_KEY, token, tenantry_fuzz::NOW);
});
