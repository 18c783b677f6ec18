//! Blobs in any S3 API (aws-sdk-s3): streamed writes are multipart uploads
//! (aborted on failure; small objects go in one PUT), reads are ranged GETs,
//! downloads can be presigned.

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use async_trait::async_trait;
use aws_sdk_s3::{
    Client,
    config::{Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation},
    error::ProvideErrorMetadata as _,
    presigning::PresigningConfig,
    primitives::ByteStream as S3Body,
    types::{CompletedMultipartUpload, CompletedPart},
};
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures::StreamExt as _;

use super::{AbortLater, BlobError, BlobStore, BlobWriter, ByteStream, Listed};
use crate::config::S3Config;

/// S3 wants parts of at least 5 MiB (but the last); memory per upload is one
/// part.
const PART_SIZE: usize = 8 * 1024 * 1024;

/// How long a streamed write may take. A multipart upload shows only when it
/// was initiated, not when it last received a part, so the janitor's grace
/// for orphans (an hour by default) would abort a large upload on a slow
/// link in flight; one still open this long after the cutoff is abandoned.
const MAX_UPLOAD_DURATION: chrono::TimeDelta = chrono::TimeDelta::hours(24);

#[derive(Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
    /// Takes the aborts that fail (S3 down), to run them as jobs.
    later: Option<Arc<dyn AbortLater>>,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn s3_error(err: impl std::fmt::Display) -> BlobError {
    BlobError::S3(err.to_string())
}

impl S3Store {
    pub fn new(config: &S3Config, bucket: &str) -> Self {
        let credentials = Credentials::new(
            config.s3_access_key_id.clone().unwrap_or_default(),
            config.s3_secret_access_key.clone().unwrap_or_default(),
            None,
            None,
            "tenantry",
        );
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(Region::new(config.s3_region.clone()))
            .credentials_provider(credentials)
            .force_path_style(config.s3_force_path_style)
            // Plain checksums only when the API requires them: not every S3
            // implementation understands the newer streaming trailers.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = &config.s3_endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        Self {
            client: Client::from_conf(builder.build()),
            bucket: bucket.to_owned(),
            prefix: config.s3_prefix.trim_matches('/').to_owned(),
            later: None,
        }
    }

    /// Writes the aborts that fail down with `later` (the job queue).
    pub fn with_abort_later(mut self, later: Arc<dyn AbortLater>) -> Self {
        self.later = Some(later);
        self
    }

    fn object(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}/{key}", self.prefix)
        }
    }

    fn key_of(&self, object: &str) -> String {
        if self.prefix.is_empty() {
            object.to_owned()
        } else {
            object
                .strip_prefix(&format!("{}/", self.prefix))
                .unwrap_or(object)
                .to_owned()
        }
    }
}

struct S3Writer {
    store: S3Store,
    object: String,
    buffer: BytesMut,
    upload_id: Option<String>,
    parts: Vec<CompletedPart>,
}

impl S3Writer {
    async fn upload_id(&mut self) -> Result<String, BlobError> {
        if let Some(id) = &self.upload_id {
            return Ok(id.clone());
        }
        let created = self
            .store
            .client
            .create_multipart_upload()
            .bucket(&self.store.bucket)
            .key(&self.object)
            .send()
            .await
            .map_err(s3_error)?;
        let id = created
            .upload_id()
            .ok_or_else(|| s3_error("no upload id"))?
            .to_owned();
        self.upload_id = Some(id.clone());
        Ok(id)
    }

    async fn flush_part(&mut self) -> Result<(), BlobError> {
        let upload_id = self.upload_id().await?;
        let number = i32::try_from(self.parts.len() + 1).map_err(s3_error)?;
        let body = self.buffer.split().freeze();
        let part = self
            .store
            .client
            .upload_part()
            .bucket(&self.store.bucket)
            .key(&self.object)
            .upload_id(upload_id)
            .part_number(number)
            .body(S3Body::from(body))
            .send()
            .await
            .map_err(s3_error)?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(part.e_tag().map(str::to_owned))
                .build(),
        );
        Ok(())
    }

    async fn cancel(&mut self) {
        if let Some(id) = self.upload_id.take()
            && let Err(err) = self.store.abort_upload(&self.object, &id).await
        {
            // S3 may be down for a while: the abort becomes a job (durable,
            // any instance runs it); only if that cannot be written either,
            // this process keeps trying in the background.
            tracing::warn!(error = %err, "could not abort a multipart upload; will retry");
            let (store, object) = (self.store.clone(), self.object.clone());
            tokio::spawn(async move {
                let queued = match &store.later {
                    Some(later) => later.remember(&object, &id).await,
                    None => false,
                };
                if !queued {
                    store.abort_upload_later(object, id).await;
                }
            });
        }
    }
}

/// Waits before each retry of an abort: about ten minutes in all.
const ABORT_RETRIES: [u64; 9] = [1, 2, 4, 8, 16, 32, 60, 120, 360];

impl S3Store {
    async fn abort_upload(&self, object: &str, upload_id: &str) -> Result<(), BlobError> {
        self.client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(object)
            .upload_id(upload_id)
            .send()
            .await
            .map(drop)
            .map_err(s3_error)
    }

    async fn abort_upload_later(self, object: String, upload_id: String) {
        for wait in ABORT_RETRIES {
            tokio::time::sleep(Duration::from_secs(wait)).await;
            if self.abort_upload(&object, &upload_id).await.is_ok() {
                tracing::info!("aborted the multipart upload on a retry");
                return;
            }
        }
        tracing::warn!("gave up aborting a multipart upload; the sweep will");
    }
}

#[async_trait]
impl BlobWriter for S3Writer {
    async fn write(&mut self, bytes: Bytes) -> Result<(), BlobError> {
        self.buffer.extend_from_slice(&bytes);
        if self.buffer.len() >= PART_SIZE {
            self.flush_part().await?;
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> Result<(), BlobError> {
        if self.upload_id.is_none() {
            // Small object: one PUT, no multipart upload.
            let body = self.buffer.split().freeze();
            self.store
                .put(&self.store.key_of(&self.object), body)
                .await?;
            return Ok(());
        }
        if !self.buffer.is_empty()
            && let Err(err) = self.flush_part().await
        {
            self.cancel().await;
            return Err(err);
        }
        let upload_id = self.upload_id().await?;
        let completed = self
            .store
            .client
            .complete_multipart_upload()
            .bucket(&self.store.bucket)
            .key(&self.object)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(std::mem::take(&mut self.parts)))
                    .build(),
            )
            .send()
            .await;
        if let Err(err) = completed {
            self.cancel().await;
            return Err(s3_error(err));
        }
        Ok(())
    }

    async fn abort(mut self: Box<Self>) {
        self.cancel().await;
    }
}

#[async_trait]
impl BlobStore for S3Store {
    async fn create(&self, key: &str) -> Result<Box<dyn BlobWriter>, BlobError> {
        Ok(Box::new(S3Writer {
            store: self.clone(),
            object: self.object(key),
            buffer: BytesMut::with_capacity(PART_SIZE),
            upload_id: None,
            parts: Vec::new(),
        }))
    }

    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.object(key))
            .body(S3Body::from(bytes))
            .send()
            .await
            .map_err(s3_error)?;
        Ok(())
    }

    async fn read(
        &self,
        key: &str,
        offset: u64,
        length: Option<u64>,
    ) -> Result<ByteStream, BlobError> {
        if length == Some(0) {
            return Ok(futures::stream::empty().boxed());
        }
        let mut request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.object(key));
        match length {
            Some(len) => request = request.range(format!("bytes={offset}-{}", offset + len - 1)),
            None if offset > 0 => request = request.range(format!("bytes={offset}-")),
            None => {}
        }
        let object = request.send().await.map_err(|err| {
            if err.as_service_error().is_some_and(|e| e.is_no_such_key()) {
                BlobError::NotFound
            } else {
                s3_error(aws_sdk_s3::error::DisplayErrorContext(err))
            }
        })?;
        let body = object.body;
        Ok(futures::stream::unfold(body, |mut body| async move {
            body.next()
                .await
                .map(|chunk| (chunk.map_err(s3_error), body))
        })
        .boxed())
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.object(key))
            .send()
            .await
            .map_err(s3_error)?;
        Ok(())
    }

    async fn list(
        &self,
        prefix: &str,
        token: Option<String>,
    ) -> Result<(Vec<Listed>, Option<String>), BlobError> {
        let page = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(self.object(prefix))
            .set_continuation_token(token)
            .send()
            .await
            .map_err(s3_error)?;
        let listed = page
            .contents()
            .iter()
            .filter_map(|object| {
                let modified = object.last_modified()?;
                Some(Listed {
                    key: self.key_of(object.key()?),
                    modified: DateTime::from_timestamp(modified.secs(), modified.subsec_nanos())?,
                })
            })
            .collect();
        let next = page.next_continuation_token().map(str::to_owned);
        Ok((listed, next))
    }

    async fn abort_multipart(&self, object: &str, upload_id: &str) -> Result<(), BlobError> {
        let done = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(object)
            .upload_id(upload_id)
            .send()
            .await;
        match done {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_no_such_upload()) =>
            {
                Ok(())
            }
            Err(err) => Err(s3_error(aws_sdk_s3::error::DisplayErrorContext(err))),
        }
    }

    async fn sweep_unfinished(&self, before: DateTime<Utc>) -> Result<u64, BlobError> {
        // Abandoned, not merely older than the grace: see MAX_UPLOAD_DURATION.
        let before = before - MAX_UPLOAD_DURATION;
        let mut aborted = 0;
        let (mut key_marker, mut id_marker) = (None::<String>, None::<String>);
        loop {
            let listed = self
                .client
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .prefix(self.object("orgs/"))
                .set_key_marker(key_marker.take())
                .set_upload_id_marker(id_marker.take())
                .send()
                .await;
            let page = match listed {
                Ok(page) => page,
                Err(err)
                    if err.as_service_error().and_then(|e| e.code()) == Some("NotImplemented") =>
                {
                    // Some S3 servers cannot list them; their lifecycle rules
                    // must abort stale multipart uploads instead.
                    tracing::info!(
                        "this S3 server cannot list multipart uploads; skipping that sweep"
                    );
                    return Ok(aborted);
                }
                Err(err) => return Err(s3_error(aws_sdk_s3::error::DisplayErrorContext(err))),
            };
            for upload in page.uploads() {
                let stale = upload
                    .initiated()
                    .and_then(|t| DateTime::from_timestamp(t.secs(), 0))
                    .is_some_and(|t| t < before);
                if let (true, Some(key), Some(id)) = (stale, upload.key(), upload.upload_id()) {
                    let done = self
                        .client
                        .abort_multipart_upload()
                        .bucket(&self.bucket)
                        .key(key)
                        .upload_id(id)
                        .send()
                        .await;
                    if done.is_ok() {
                        aborted += 1;
                    }
                }
            }
            // A listing holds at most 1,000 uploads: follow the markers.
            key_marker = page.next_key_marker().map(str::to_owned);
            id_marker = page.next_upload_id_marker().map(str::to_owned);
            if !page.is_truncated().unwrap_or(false) || key_marker.is_none() {
                return Ok(aborted);
            }
        }
    }

    async fn presign(
        &self,
        key: &str,
        signed_at: DateTime<Utc>,
        ttl: Duration,
        filename: &str,
    ) -> Result<Option<String>, BlobError> {
        let config = PresigningConfig::builder()
            .start_time(SystemTime::from(signed_at))
            .expires_in(ttl)
            .build()
            .map_err(s3_error)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.object(key))
            .response_content_disposition(super::attachment(filename))
            .response_content_type("application/octet-stream")
            .presigned(config)
            .await
            .map_err(s3_error)?;
        Ok(Some(request.uri().to_owned()))
    }

    fn kind(&self) -> &'static str {
        "s3"
    }
}
