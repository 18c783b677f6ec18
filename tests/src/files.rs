//! Files as tests drive them.

use bytes::Bytes;
use sha2::{Digest as _, Sha256};
use tenantry_client::file::v1::{
    DownloadRequest, FileMetadata, UploadRequest, UploadResponse, download_response,
    upload_request::Part,
};

use tenantry_client::files::no_progress;

use crate::TestUser;

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `bytes` cut into chunks of `size`.
pub fn chunks(bytes: &[u8], size: usize) -> Vec<Bytes> {
    bytes
        .chunks(size.max(1))
        .map(Bytes::copy_from_slice)
        .collect()
}

pub fn metadata(name: &str) -> FileMetadata {
    FileMetadata {
        name: name.into(),
        ..FileMetadata::default()
    }
}

impl TestUser {
    /// Streams `metadata` then `chunks` through `Upload`.
    pub async fn upload_parts(
        &self,
        metadata: FileMetadata,
        chunks: Vec<Bytes>,
    ) -> Result<UploadResponse, tonic::Status> {
        upload_with(&self.client, metadata, chunks).await
    }

    /// Uploads `bytes` as `name` with the SDK's helper.
    pub async fn upload(&self, name: &str, bytes: &[u8]) -> UploadResponse {
        let reader = std::io::Cursor::new(bytes.to_vec());
        self.client
            .upload(metadata(name), reader, no_progress)
            .await
            .expect("upload")
    }

    /// Downloads `length` bytes (0: all) from `offset`, checking the
    /// stream's shape on the way.
    pub async fn download_range(
        &self,
        file_id: &str,
        offset: i64,
        length: i64,
    ) -> Result<Vec<u8>, tonic::Status> {
        let mut stream = self
            .client
            .files()
            .download(DownloadRequest {
                file_id: file_id.into(),
                offset,
                length,
            })
            .await?
            .into_inner();
        let mut bytes = Vec::new();
        let mut saw_metadata = false;
        while let Some(message) = stream.message().await? {
            match message.part {
                Some(download_response::Part::File(_)) => {
                    assert!(
                        !saw_metadata && bytes.is_empty(),
                        "metadata comes first, once"
                    );
                    saw_metadata = true;
                }
                Some(download_response::Part::Chunk(chunk)) => bytes.extend_from_slice(&chunk),
                None => {}
            }
        }
        assert!(saw_metadata, "a download starts with the file's metadata");
        Ok(bytes)
    }

    /// The file's bytes, through the SDK's helper (which checks them
    /// against the file's SHA-256).
    pub async fn download(&self, file_id: &str) -> Vec<u8> {
        let mut bytes = Vec::new();
        self.client
            .download(file_id, &mut bytes, no_progress)
            .await
            .expect("download");
        bytes
    }
}

/// Streams `metadata` then `chunks` through `Upload` with `client`'s token.
pub async fn upload_with(
    client: &tenantry_client::Tenantry,
    metadata: FileMetadata,
    chunks: Vec<Bytes>,
) -> Result<UploadResponse, tonic::Status> {
    let messages = std::iter::once(UploadRequest {
        part: Some(Part::Metadata(metadata)),
    })
    .chain(chunks.into_iter().map(|c| UploadRequest {
        part: Some(Part::Chunk(c)),
    }))
    .collect::<Vec<_>>();
    client
        .files()
        .upload(tokio_stream::iter(messages))
        .await
        .map(|r| r.into_inner())
}
