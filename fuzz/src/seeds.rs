//! `cargo xtask fuzz-seeds` writes the seed corpus
//! under `seeds/`: real tokens signed with the fuzzing key, and
//! well-formed inputs of each target, so the fuzzer starts from what the
//! server accepts.

use std::path::Path;

// Built with the fuzz targets' coverage flags, it needs libFuzzer's hooks.
use libfuzzer_sys as _;

use tenantry_proto::file::v1::ListFilesRequest;
use tenantry_server::{crypto::jwt::AccessClaims, paging::PageTokens};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("seeds").join(target);
    std::fs::create_dir_all(&dir).expect("a corpus folder");
    std::fs::write(dir.join(name), bytes).expect("a seed");
}

fn main() {
    let claims = AccessClaims {
        sub: "0193a0b8-0000-7000-8000-000000000001".into(),
        sid: "0193a0b8-0000-7000-8000-000000000002".into(),
        tid: Some("0193a0b8-0000-7000-8000-000000000003".into()),
        pin: 0,
        role: Some("admin".into()),
        kind: None,
        client_id: None,
        cnf: None,
        iat: tenantry_fuzz::NOW - 10,
        exp: tenantry_fuzz::NOW + 900,
        iss: "tenantry".into(),
        aud: "tenantry".into(),
        jti: "0193a0b8-0000-7000-8000-000000000004".into(),
    };
    let token = tenantry_fuzz::token_codec().sign(&claims).expect("a token");
    write("access_token", "person", token.as_bytes());

    // A next-page token of the organization "org"'s file list.
    let tokens = PageTokens::new(tenantry_fuzz::SERVER_KEY);
    let request = ListFilesRequest {
        page_size: 1,
        ..ListFilesRequest::default()
    };
    let page = tokens.parse("org", &request, 50, 1000).expect("a page");
    let last = vec!["2026-12-02T10:00:00.000000".to_owned(), claims.sub.clone()];
    let (_, next) = page.finish(vec![(), ()], |()| last.clone());
    // The target reads (page_size, page_token, other_owner) with `arbitrary`:
    // 4 bytes, then the string (its length comes from the end), then a bool.
    let mut seed = 1_i32.to_le_bytes().to_vec();
    seed.extend_from_slice(next.as_bytes());
    write("page_token", "next_page", &seed);

    write(
        "download_link",
        "shape",
        b"eyJmIjoiMDE5M2EwYjgifQ.c2lnbmF0dXJl",
    );
    let mut frames = vec![1_u8, 0, 0, 0, 0, 3, 1, 2, 3];
    frames.extend_from_slice(&[0, 0, 0, 0, 0]);
    write("grpc_frames", "two_messages", &frames);
    write("validators", "email", b" Ann.Lee+tag@Example.COM ");
    write("validators", "id", b"0193A0B8-0000-7000-8000-000000000001");
    write(
        "validators",
        "token",
        b"inv_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG",
    );
}
