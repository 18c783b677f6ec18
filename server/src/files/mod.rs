//! Files (`tenantry.file.v1`): streamed and resumable uploads, streamed and
//! signed downloads, deduplication with reference counts, quotas, and the
//! janitor that keeps the blob store free of leftovers.

mod convert;
pub mod download_url;
mod ingest;
pub mod janitor;
mod listing;
mod manage;
mod read;
pub mod rules;
mod service;
mod session_store;
mod sessions;
pub mod slots;
mod store;
mod upload;

pub use service::FileApi;
