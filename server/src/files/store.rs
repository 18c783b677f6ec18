//! The database side of files: limits, turning stored bytes into a file
//! (deduplicated, within the quota, audited), loading, purging.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::{
    ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, RunQueryDsl as _,
    SelectableHelper as _,
};

use super::{
    ingest::{Ingested, Limits, over_quota},
    rules::Metadata,
};
use crate::{
    audit::{self, Action, Actor, Event},
    context::{Caller, RequestMeta},
    db::{
        Tenant, TenantScope, Tx,
        rows::{BlobRow, FileLabelRow, FileRow},
        schema::{blobs, file_labels, files, organizations},
    },
    error::{ApiError, ApiResult},
    ids::UserId,
    jobs,
    state::{AppState, after},
};

/// The organization's limits now.
pub fn limits(tx: &mut Tx<'_>, scope: &TenantScope) -> ApiResult<Limits> {
    let (max_file_size, quota, used): (i64, i64, i64) = organizations::table
        .find(scope.org_id())
        .select((
            organizations::max_file_size,
            organizations::storage_quota,
            organizations::storage_used,
        ))
        .first(tx.conn())?;
    Ok(Limits {
        max_file_size,
        quota_left: quota.saturating_sub(used),
    })
}

/// What a commit made: the file and whether its bytes were already stored
/// (then the caller deletes the copy it wrote).
pub struct Committed {
    pub file: FileRow,
    pub labels: BTreeMap<String, String>,
    pub deduplicated: bool,
}

/// A file to be made of ingested bytes: where, by whom, what.
pub struct NewFile {
    pub scope: TenantScope,
    pub meta: RequestMeta,
    pub uploader: UserId,
    /// Who the audit log names (a person or a service account).
    pub actor: Actor,
    pub metadata: Metadata,
    pub ingested: Ingested,
}

impl NewFile {
    /// The file `caller` uploads into `scope`.
    pub fn new(
        caller: &Caller,
        scope: TenantScope,
        meta: RequestMeta,
        metadata: Metadata,
        ingested: Ingested,
    ) -> Self {
        let uploader = caller.user_id().clone();
        NewFile {
            scope,
            meta,
            uploader,
            actor: Actor::of(caller),
            metadata,
            ingested,
        }
    }
}

/// Makes a file of ingested bytes, in the caller's transaction: takes the
/// quota (locking the organization row, which serializes concurrent commits
/// of one organization), shares an existing blob with the same content or
/// records the new one, writes the file and its audit event.
pub fn commit(tx: &mut Tx<'_>, now: NaiveDateTime, new: &NewFile) -> ApiResult<Committed> {
    let NewFile {
        scope,
        meta,
        uploader,
        actor,
        metadata,
        ingested,
    } = new;
    let reserved = diesel::update(
        organizations::table
            .find(scope.org_id())
            .filter(organizations::deleted_at.is_null())
            .filter((organizations::storage_used + ingested.size).le(organizations::storage_quota)),
    )
    .set(organizations::storage_used.eq(organizations::storage_used + ingested.size))
    .execute(tx.conn())?;
    if reserved == 0 {
        return Err(over_quota());
    }
    let mut t = tx.tenant(scope)?;
    let shared = diesel::update(t.blobs().filter(blobs::sha256.eq(&ingested.sha256)))
        .set(blobs::ref_count.eq(blobs::ref_count + 1))
        .execute(t.conn())?;
    let deduplicated = shared == 1;
    if !deduplicated && !ingested.written {
        // Verified against stored content that was purged meanwhile.
        return Err(ApiError::Aborted(
            "the stored content changed during the upload: retry it".into(),
        ));
    }
    if !deduplicated {
        let blob = BlobRow {
            org_id: scope.org_id().to_string(),
            sha256: ingested.sha256.clone(),
            size: ingested.size,
            storage_key: ingested.key.clone(),
            ref_count: 1,
            created_at: now,
        };
        t.insert_blobs().values(&blob).execute(t.conn())?;
    }
    if !deduplicated {
        diesel::update(organizations::table.find(scope.org_id()))
            .set(organizations::storage_stored.eq(organizations::storage_stored + ingested.size))
            .execute(t.conn())?;
    }
    let file = FileRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_id: scope.org_id().to_string(),
        name: metadata.name.clone(),
        declared_content_type: metadata.content_type.clone(),
        detected_content_type: ingested.detected_content_type.clone(),
        size: ingested.size,
        sha256: ingested.sha256.clone(),
        uploader_id: uploader.to_string(),
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    t.insert_files().values(&file).execute(t.conn())?;
    write_labels(&mut t, &file.id, &metadata.labels)?;
    let event = Event::new(actor.clone(), Action::FileUploaded, "file", &file.id).details(
        serde_json::json!({
            "name": file.name,
            "size": file.size,
            "sha256": file.sha256,
            "deduplicated": deduplicated,
        }),
    );
    audit::record(&mut t, now, meta, event)?;
    Ok(Committed {
        file,
        labels: metadata.labels.clone(),
        deduplicated,
    })
}

pub fn write_labels(
    t: &mut Tenant<'_>,
    file_id: &str,
    labels: &BTreeMap<String, String>,
) -> ApiResult<()> {
    diesel::delete(t.file_labels().filter(file_labels::file_id.eq(file_id))).execute(t.conn())?;
    for (key, value) in labels {
        let row = FileLabelRow {
            org_id: t.org_id().to_owned(),
            file_id: file_id.to_owned(),
            key: key.clone(),
            value: value.clone(),
        };
        t.insert_file_labels().values(&row).execute(t.conn())?;
    }
    Ok(())
}

/// A file of this organization (deleted ones too when `deleted` is true),
/// NOT_FOUND otherwise.
pub fn find(t: &mut Tenant<'_>, file_id: &str, deleted: bool) -> ApiResult<FileRow> {
    let row = t
        .files()
        .filter(files::id.eq(file_id))
        .select(FileRow::as_select())
        .first(t.conn())
        .optional()?
        .filter(|f| deleted || f.deleted_at.is_none());
    row.ok_or(ApiError::NotFound("file"))
}

/// A live file and its labels in one query (the hot path of `GetFile`).
pub fn find_labelled(t: &mut Tenant<'_>, file_id: &str) -> ApiResult<(FileRow, Vec<FileLabelRow>)> {
    let query = t
        .files_with_labels()
        .filter(files::id.eq(file_id))
        .filter(files::deleted_at.is_null());
    let rows: Vec<(FileRow, Option<FileLabelRow>)> = crate::db::on_backend!(t.conn(), |c| query
        .select((FileRow::as_select(), Option::<FileLabelRow>::as_select()))
        .load(c))?;
    let mut rows = rows.into_iter();
    let (file, first) = rows.next().ok_or(ApiError::NotFound("file"))?;
    let labels = first
        .into_iter()
        .chain(rows.filter_map(|(_, l)| l))
        .collect();
    Ok((file, labels))
}

pub fn labels_of(t: &mut Tenant<'_>, file_ids: &[String]) -> ApiResult<Vec<FileLabelRow>> {
    Ok(t.file_labels()
        .filter(file_labels::file_id.eq_any(file_ids))
        .select(FileLabelRow::as_select())
        .load(t.conn())?)
}

/// The key of content already stored with this SHA-256, if any.
pub fn stored_key(t: &mut Tenant<'_>, sha256: &str) -> ApiResult<Option<String>> {
    Ok(t.blobs()
        .filter(blobs::sha256.eq(sha256))
        .select(blobs::storage_key)
        .first(t.conn())
        .optional()?)
}

/// The blob key holding a file's bytes.
pub fn blob_key(t: &mut Tenant<'_>, sha256: &str) -> ApiResult<String> {
    t.blobs()
        .filter(blobs::sha256.eq(sha256))
        .select(blobs::storage_key)
        .first(t.conn())
        .optional()?
        .ok_or_else(|| ApiError::DataLoss("the file's content record is missing".into()))
}

/// Removes a file for good: its row and labels go, its blob loses a
/// reference (and is scheduled for deletion at zero), the quota is given
/// back, and the purge is audited. Returns the key of bytes no file needs
/// any more (delete them after commit; a job does it too, should we crash).
pub fn purge(
    tx: &mut Tx<'_>,
    state: &AppState,
    scope: &TenantScope,
    meta: &RequestMeta,
    actor: Actor,
    file: &FileRow,
) -> ApiResult<Option<String>> {
    let now = state.now();
    // The organization row first, as a commit takes it first: one lock
    // order (no deadlock with a concurrent upload of the same content), and
    // two purges of one file queue here — the second then finds no row to
    // delete and gives nothing back twice.
    diesel::update(organizations::table.find(scope.org_id()))
        .set(organizations::storage_used.eq(organizations::storage_used - file.size))
        .execute(tx.conn())?;
    let mut t = tx.tenant(scope)?;
    let deleted = diesel::delete(t.files().filter(files::id.eq(&file.id))).execute(t.conn())?;
    if deleted == 0 {
        return Err(ApiError::NotFound("file"));
    }
    diesel::update(t.blobs().filter(blobs::sha256.eq(&file.sha256)))
        .set(blobs::ref_count.eq(blobs::ref_count - 1))
        .execute(t.conn())?;
    let orphaned: Option<String> = t
        .blobs()
        .filter(blobs::sha256.eq(&file.sha256))
        .filter(blobs::ref_count.le(0))
        .select(blobs::storage_key)
        .first(t.conn())
        .optional()?;
    if orphaned.is_some() {
        diesel::delete(t.blobs().filter(blobs::sha256.eq(&file.sha256))).execute(t.conn())?;
    }
    let event =
        Event::new(actor, Action::FilePurged, "file", &file.id).details(serde_json::json!({
            "name": file.name,
            "size": file.size,
            "content_deleted": orphaned.is_some(),
        }));
    audit::record(&mut t, now, meta, event)?;
    if orphaned.is_some() {
        diesel::update(organizations::table.find(scope.org_id()))
            .set(organizations::storage_stored.eq(organizations::storage_stored - file.size))
            .execute(tx.conn())?;
    }
    if let Some(key) = &orphaned {
        // Deleted only after commit (a rollback must not lose the bytes), and
        // by a job as well, so a crash cannot lose the deletion.
        jobs::enqueue(
            tx.conn(),
            jobs::Kind::DeleteBlob,
            Some(scope.org_id()),
            key,
            now,
        )?;
    }
    Ok(orphaned)
}

/// When a file deleted now is purged.
pub fn purge_time(state: &AppState, deleted_at: chrono::NaiveDateTime) -> chrono::NaiveDateTime {
    after(deleted_at, state.config.storage.file_retention)
}
