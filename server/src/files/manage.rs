//! Changing files: rename and relabel, delete (soft), restore, purge, and the
//! organization's storage usage. Members change their own files; admins any.

use std::collections::BTreeMap;

use diesel::{ExpressionMethods as _, QueryDsl as _, RunQueryDsl as _};
use tenantry_proto::file::v1 as pb;

use super::{convert, read::file_id, rules, store};
use crate::{
    access::Role,
    audit::{self, Action, Event},
    context::{Caller, RequestMeta},
    db::{
        rows::FileRow,
        schema::{files, organizations},
    },
    error::{ApiError, ApiResult, Violations},
    jobs,
    state::AppState,
};

fn may_change(caller: &Caller, file: &FileRow) -> ApiResult<()> {
    if caller.role >= Some(Role::Admin) || file.uploader_id == *caller.user_id() {
        Ok(())
    } else {
        Err(ApiError::permission_denied(
            "only its uploader or an admin may change this file",
        ))
    }
}

pub async fn update_file(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::UpdateFileRequest,
) -> ApiResult<pb::UpdateFileResponse> {
    let scope = caller.tenant()?;
    let mut violations = Violations::new();
    let id = violations.take("file_id", crate::ids::FileId::parse(&request.file_id));
    let name = match &request.name {
        Some(raw) => violations.take("name", rules::name(raw)),
        None => None,
    };
    let labels = if request.replace_labels {
        violations.take(
            "labels",
            rules::labels(request.labels.into_iter().collect()),
        )
    } else {
        if !request.labels.is_empty() {
            violations.add("replace_labels", "must be set to change labels");
        }
        None
    };
    violations.finish()?;
    let id = id.unwrap_or_default();
    let (file, labels) = state
        .write(move |tx, st| {
            let now = st.now();
            let mut t = tx.tenant(&scope)?;
            let mut file = store::find(&mut t, &id, false)?;
            may_change(&caller, &file)?;
            let mut changes = serde_json::Map::new();
            if let Some(name) = name {
                changes.insert("name".into(), name.clone().into());
                file.name = name;
            }
            file.updated_at = now;
            diesel::update(t.files().filter(files::id.eq(&id)))
                .set((files::name.eq(&file.name), files::updated_at.eq(now)))
                .execute(t.conn())?;
            if let Some(labels) = &labels {
                store::write_labels(&mut t, &id, labels)?;
                changes.insert(
                    "labels".into(),
                    serde_json::to_value(labels).unwrap_or_default(),
                );
            }
            let event =
                Event::by(&caller, Action::FileUpdated, "file", &id).details(changes.into());
            audit::record(&mut t, now, &meta, event)?;
            let labels = store::labels_of(&mut t, &[id.to_string()])?;
            Ok((file, labels))
        })
        .await?;
    let labels = convert::labels_by_file(labels)
        .remove(&file.id)
        .unwrap_or_default();
    Ok(pb::UpdateFileResponse {
        file: Some(convert::file(&file, &labels)),
    })
}

/// Soft-deletes (`deleted`) or restores a file.
async fn set_deleted(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    raw_id: &str,
    deleted: bool,
) -> ApiResult<pb::File> {
    let scope = caller.tenant()?;
    let id = file_id(raw_id)?;
    let (file, labels) = state
        .write(move |tx, st| {
            let now = st.now();
            let mut t = tx.tenant(&scope)?;
            let mut file = store::find(&mut t, &id, true)?;
            may_change(&caller, &file)?;
            if file.deleted_at.is_some() == deleted {
                return Err(ApiError::failed_precondition(if deleted {
                    "this file is already deleted"
                } else {
                    "this file is not deleted"
                }));
            }
            file.deleted_at = deleted.then_some(now);
            file.updated_at = now;
            diesel::update(t.files().filter(files::id.eq(&id)))
                .set((
                    files::deleted_at.eq(file.deleted_at),
                    files::updated_at.eq(now),
                ))
                .execute(t.conn())?;
            let action = if deleted {
                Action::FileDeleted
            } else {
                Action::FileRestored
            };
            let event = Event::by(&caller, action, "file", &id)
                .details(serde_json::json!({ "name": file.name }));
            audit::record(&mut t, now, &meta, event)?;
            let labels = store::labels_of(&mut t, &[id.to_string()])?;
            if deleted {
                let purge_at = store::purge_time(st, now);
                jobs::enqueue(
                    tx.conn(),
                    jobs::Kind::PurgeDeletedFile,
                    Some(scope.org_id()),
                    &id,
                    purge_at,
                )?;
            }
            Ok((file, labels))
        })
        .await?;
    let labels: BTreeMap<String, String> = convert::labels_by_file(labels)
        .remove(&file.id)
        .unwrap_or_default();
    Ok(convert::file(&file, &labels))
}

pub async fn delete_file(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::DeleteFileRequest,
) -> ApiResult<pb::DeleteFileResponse> {
    let file = set_deleted(state, meta, caller, &request.file_id, true).await?;
    Ok(pb::DeleteFileResponse { file: Some(file) })
}

pub async fn restore_file(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::RestoreFileRequest,
) -> ApiResult<pb::RestoreFileResponse> {
    let file = set_deleted(state, meta, caller, &request.file_id, false).await?;
    Ok(pb::RestoreFileResponse { file: Some(file) })
}

pub async fn purge_file(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::PurgeFileRequest,
) -> ApiResult<pb::PurgeFileResponse> {
    let scope = caller.tenant()?;
    let id = file_id(&request.file_id)?;
    let unneeded = state
        .write(move |tx, st| {
            let file = {
                let mut t = tx.tenant(&scope)?;
                store::find(&mut t, &id, true)?
            };
            store::purge(
                tx,
                st,
                &scope,
                &meta,
                crate::audit::Actor::of(&caller),
                &file,
            )
        })
        .await?;
    if let Some(key) = unneeded
        && let Err(err) = state.blobs.delete(&key).await
    {
        tracing::warn!(error = %err, "could not delete purged bytes now; a job will");
    }
    Ok(pb::PurgeFileResponse {})
}

pub async fn get_storage_usage(
    state: &AppState,
    caller: Caller,
) -> ApiResult<pb::GetStorageUsageResponse> {
    let scope = caller.tenant()?;
    state
        .db
        .read(move |tx| {
            let (used, stored, quota, max): (i64, i64, i64, i64) = organizations::table
                .find(scope.org_id())
                .select((
                    organizations::storage_used,
                    organizations::storage_stored,
                    organizations::storage_quota,
                    organizations::max_file_size,
                ))
                .first(tx.conn())?;
            let mut t = tx.tenant(&scope)?;
            let file_count: i64 = t.files().count().get_result(t.conn())?;
            Ok(pb::GetStorageUsageResponse {
                used_bytes: used,
                file_count,
                stored_bytes: stored,
                saved_by_dedup_bytes: used - stored,
                quota_bytes: quota,
                max_file_size_bytes: max,
            })
        })
        .await
}
