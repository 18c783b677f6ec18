//! A list's `page_size` and `page_token` as a caller sends them: refused as
//! INVALID_ARGUMENT or opened, never a panic, and a token opens only for
//! the list it was made for.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tenantry_proto::file::v1::ListFilesRequest;
use tenantry_server::paging::PageTokens;

fuzz_target!(|input: (i32, String, bool)| {
    let (page_size, page_token, other_owner) = input;
    let tokens = PageTokens::new(tenantry_fuzz::SERVER_KEY);
    let request = ListFilesRequest {
        page_size,
        page_token,
        ..ListFilesRequest::default()
    };
    // Seeds are made for the organization "org"; another owner's list must
    // refuse them.
    let owner = if other_owner { "other-org" } else { "org" };
    let Ok(page) = tokens.parse(owner, &request, 50, 1000) else {
        return;
    };
    // One row more than the page, to know whether another follows.
    assert!((2..=1001).contains(&page.limit()));
    let _ = page.after_time_and_id();
    let _ = page.after_text_and_id();
    let _ = page.after_number();
});
