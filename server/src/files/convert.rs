//! Rows as messages.

use std::collections::BTreeMap;

use tenantry_proto::file::v1 as pb;

use super::rules::Metadata;
use crate::{
    clock::to_proto,
    db::rows::{FileLabelRow, FileRow, UploadSessionRow},
};

pub fn file(row: &FileRow, labels: &BTreeMap<String, String>) -> pb::File {
    pb::File {
        id: row.id.clone(),
        name: row.name.clone(),
        declared_content_type: row.declared_content_type.clone(),
        detected_content_type: row.detected_content_type.clone(),
        size_bytes: row.size,
        sha256: row.sha256.clone(),
        labels: labels.clone().into_iter().collect(),
        uploader_user_id: row.uploader_id.clone(),
        create_time: Some(to_proto(row.created_at)),
        update_time: Some(to_proto(row.updated_at)),
        delete_time: row.deleted_at.map(to_proto),
    }
}

/// Labels grouped by file id.
pub fn labels_by_file(rows: Vec<FileLabelRow>) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for row in rows {
        out.entry(row.file_id)
            .or_default()
            .insert(row.key, row.value);
    }
    out
}

pub fn metadata(m: &Metadata) -> pb::FileMetadata {
    pb::FileMetadata {
        name: m.name.clone(),
        content_type: m.content_type.clone(),
        expected_size: m.expected_size,
        expected_sha256: m.expected_sha256.clone().unwrap_or_default(),
        labels: m.labels.clone().into_iter().collect(),
    }
}

/// The metadata an upload session was created with.
pub fn session_metadata(row: &UploadSessionRow) -> Metadata {
    Metadata {
        name: row.name.clone(),
        content_type: row.content_type.clone(),
        expected_size: row.expected_size,
        expected_sha256: row.expected_sha256.clone(),
        labels: serde_json::from_str(&row.labels).unwrap_or_default(),
    }
}

pub fn session(row: &UploadSessionRow) -> pb::UploadSession {
    pb::UploadSession {
        id: row.id.clone(),
        metadata: Some(metadata(&session_metadata(row))),
        received_bytes: row.received,
        expire_time: Some(to_proto(row.expires_at)),
    }
}
