//! gRPC request bodies (the length-prefixed frames of gRPC and grpc-web) as
//! the framing check sees them: any bytes get a verdict, never a panic, and
//! the verdict does not depend on how the body was split into chunks.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tenantry_server::layers::framing::verdict;

fuzz_target!(|input: (bool, Vec<u8>, Vec<u16>)| {
    let (one_message, body, cuts) = input;
    let whole = verdict(one_message, &[&body]);
    let mut cuts: Vec<usize> = cuts
        .iter()
        .map(|&c| usize::from(c) % (body.len() + 1))
        .collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut from = 0;
    for cut in cuts {
        chunks.push(&body[from..cut]);
        from = cut;
    }
    chunks.push(&body[from..]);
    let split = verdict(one_message, &chunks);
    // A refusal may come earlier in a split body, but never a different
    // outcome class: both pass, or both refuse.
    assert_eq!(
        whole.is_ok(),
        split.is_ok(),
        "{whole:?} whole, {split:?} split"
    );
});
