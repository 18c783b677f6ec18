//! Bytes in, the same bytes out: empty, tiny, across chunk boundaries, large;
//! whole or by range; content types declared and sniffed.

use tenantry_client::file::v1::{FileMetadata, GetFileRequest};
use tenantry_tests::{
    Backend, TestApp, assert_code, chunks, field_violations, on_both_backends, sha256_hex,
};
use tonic::Code;

/// Deterministic bytes that do not compress or repeat trivially.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

async fn sizes_around_chunk_boundaries_round_trip(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let chunk = 64 * 1024;
    for (n, size) in [
        0,
        1,
        chunk - 1,
        chunk,
        chunk + 1,
        3 * chunk,
        9 * 1024 * 1024 + 7,
    ]
    .into_iter()
    .enumerate()
    {
        let bytes = noise(size, n as u64);
        let uploaded = team.member.upload(&format!("f{n}.bin"), &bytes).await;
        let file = uploaded.file.unwrap();
        assert_eq!(file.size_bytes, size as i64);
        assert_eq!(file.sha256, sha256_hex(&bytes));
        assert_eq!(file.uploader_user_id, team.member.id);
        let back = team.viewer.download(&file.id).await;
        assert_eq!(back.len(), size);
        assert_eq!(
            sha256_hex(&back),
            file.sha256,
            "what was streamed hashes to the stored SHA-256"
        );
    }
}

async fn ranges_resume_a_broken_download(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let bytes = noise(300_000, 7);
    let file = team.member.upload("big.bin", &bytes).await.file.unwrap();
    // The first part arrived, the connection broke; fetch the rest.
    let head = team
        .viewer
        .download_range(&file.id, 0, 100_000)
        .await
        .unwrap();
    let tail = team
        .viewer
        .download_range(&file.id, 100_000, 0)
        .await
        .unwrap();
    assert_eq!([head, tail].concat(), bytes);
    let middle = team.viewer.download_range(&file.id, 5, 10).await.unwrap();
    assert_eq!(middle, bytes[5..15]);
    // Asking past the end is a caller's mistake.
    let status = assert_code(
        team.viewer.download_range(&file.id, 300_001, 0).await,
        Code::InvalidArgument,
    );
    assert_eq!(field_violations(&status), vec!["offset"]);
    assert_eq!(
        team.viewer
            .download_range(&file.id, 300_000, 0)
            .await
            .unwrap(),
        Vec::<u8>::new()
    );
}

async fn content_types_are_declared_and_sniffed(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let png = [
        &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A][..],
        &[0; 64],
    ]
    .concat();
    let metadata = FileMetadata {
        name: "holiday.txt".into(),
        content_type: "text/plain".into(),
        labels: [("album".to_owned(), "2026".to_owned())].into(),
        ..FileMetadata::default()
    };
    let file = team
        .member
        .upload_parts(metadata, chunks(&png, 16))
        .await
        .unwrap()
        .file
        .unwrap();
    assert_eq!(file.declared_content_type, "text/plain");
    assert_eq!(
        file.detected_content_type, "image/png",
        "the bytes tell the truth"
    );
    assert_eq!(file.labels.get("album").map(String::as_str), Some("2026"));
    let got = team
        .viewer
        .client
        .files()
        .get_file(GetFileRequest {
            file_id: file.id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(got.into_inner().file.unwrap(), file);
}

async fn a_gigabyte_streams_through(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let size: usize = 1 << 30;
    let block = noise(1 << 20, 42);
    let mut hasher = sha2::Sha256::new();
    // Generated on the fly: neither side ever holds the whole file.
    let messages = futures_like_stream(&block, size, &mut hasher);
    let expected = hex_of(hasher);
    let uploaded = team
        .member
        .client
        .files()
        .upload(tokio_stream::iter(messages))
        .await
        .unwrap()
        .into_inner();
    let file = uploaded.file.unwrap();
    assert_eq!(
        (file.size_bytes, file.sha256.as_str()),
        (size as i64, expected.as_str())
    );
    let mut stream = team
        .viewer
        .client
        .files()
        .download(tenantry_client::file::v1::DownloadRequest {
            file_id: file.id,
            offset: 0,
            length: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let mut hasher = sha2::Sha256::new();
    let mut received = 0;
    while let Some(message) = stream.message().await.unwrap() {
        if let Some(tenantry_client::file::v1::download_response::Part::Chunk(chunk)) = message.part
        {
            received += chunk.len();
            sha2::Digest::update(&mut hasher, &chunk);
        }
    }
    assert_eq!(received, size);
    assert_eq!(hex_of(hasher), expected);
}

use sha2::Digest as _;

fn hex_of(hasher: sha2::Sha256) -> String {
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The upload messages of `size` bytes made of `block` repeated (lazily:
/// the chunks share one buffer).
fn futures_like_stream(
    block: &[u8],
    size: usize,
    hasher: &mut sha2::Sha256,
) -> impl Iterator<Item = tenantry_client::file::v1::UploadRequest> + Send + 'static {
    use tenantry_client::file::v1::{UploadRequest, upload_request::Part};
    let shared = bytes::Bytes::copy_from_slice(block);
    for _ in 0..size / block.len() {
        hasher.update(&shared);
    }
    let metadata = UploadRequest {
        part: Some(Part::Metadata(FileMetadata {
            name: "gigabyte.bin".into(),
            expected_size: Some(size as i64),
            ..FileMetadata::default()
        })),
    };
    std::iter::once(metadata).chain((0..size / block.len()).map(move |_| UploadRequest {
        part: Some(Part::Chunk(shared.clone())),
    }))
}

/// Reaches under the API: replaces the stored bytes behind the server's back.
async fn bytes_altered_in_the_store_end_a_download_with_data_loss(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let bytes = noise(3 * 1024 * 1024 + 5, 9);
    let file = team
        .member
        .upload("precious.bin", &bytes)
        .await
        .file
        .unwrap();
    let objects = app.stored_objects().await;
    assert_eq!(objects.len(), 1);
    let mut rotten = bytes.clone();
    rotten[2 * 1024 * 1024] ^= 1;
    app.state()
        .blobs
        .put(&objects[0], bytes::Bytes::from(rotten))
        .await
        .unwrap();
    let status = assert_code(
        team.viewer.download_range(&file.id, 0, 0).await,
        Code::DataLoss,
    );
    assert!(status.message().contains("SHA-256"), "{status:?}");
}

on_both_backends!(
    bytes_altered_in_the_store_end_a_download_with_data_loss,
    sizes_around_chunk_boundaries_round_trip,
    ranges_resume_a_broken_download,
    content_types_are_declared_and_sniffed,
    a_gigabyte_streams_through,
);
