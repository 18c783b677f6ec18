//! The queries of resumable upload sessions and their parts, named after
//! what they do. Committing the finished file is [`super::store`]'s.

use chrono::NaiveDateTime;
use diesel::{
    ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, RunQueryDsl as _,
    SelectableHelper as _,
};

use crate::{
    db::{
        Tenant,
        rows::{UploadPartRow, UploadSessionRow},
        schema::{upload_parts, upload_sessions},
    },
    error::{ApiError, ApiResult},
};

pub fn insert_upload_session(t: &mut Tenant<'_>, row: &UploadSessionRow) -> ApiResult<()> {
    t.insert_upload_sessions().values(row).execute(t.conn())?;
    Ok(())
}

/// The uploader's live session, NOT_FOUND for anyone else's or an expired
/// one.
pub fn find_upload_session(
    t: &mut Tenant<'_>,
    uploader: &str,
    id: &str,
    now: NaiveDateTime,
) -> ApiResult<UploadSessionRow> {
    t.upload_sessions()
        .filter(upload_sessions::id.eq(id))
        .filter(upload_sessions::uploader_id.eq(uploader))
        .filter(upload_sessions::expires_at.gt(now))
        .select(UploadSessionRow::as_select())
        .first(t.conn())
        .optional()?
        .ok_or(ApiError::NotFound("upload session"))
}

/// The session whoever uploads, live or expired (for the janitor).
pub fn find_any_upload_session(
    t: &mut Tenant<'_>,
    id: &str,
) -> ApiResult<Option<UploadSessionRow>> {
    Ok(t.upload_sessions()
        .filter(upload_sessions::id.eq(id))
        .select(UploadSessionRow::as_select())
        .first(t.conn())
        .optional()?)
}

/// Bytes the organization's other live sessions hold.
pub fn bytes_held_by_others(t: &mut Tenant<'_>, id: &str, now: NaiveDateTime) -> ApiResult<i64> {
    // (Summed here: SQL's SUM of a BIGINT is NUMERIC on PostgreSQL.)
    let held: Vec<i64> = t
        .upload_sessions()
        .filter(upload_sessions::id.ne(id))
        .filter(upload_sessions::expires_at.gt(now))
        .filter(upload_sessions::received.gt(0))
        .select(upload_sessions::received)
        .load(t.conn())?;
    Ok(held.iter().fold(0_i64, |a, b| a.saturating_add(*b)))
}

/// The part stored at `offset`, if any.
pub fn find_part_at(
    t: &mut Tenant<'_>,
    session: &str,
    offset: i64,
) -> ApiResult<Option<UploadPartRow>> {
    Ok(t.upload_parts()
        .filter(upload_parts::session_id.eq(session))
        .filter(upload_parts::start_offset.eq(offset))
        .select(UploadPartRow::as_select())
        .first(t.conn())
        .optional()?)
}

/// The session's parts in order.
pub fn list_parts(t: &mut Tenant<'_>, session: &str) -> ApiResult<Vec<UploadPartRow>> {
    Ok(t.upload_parts()
        .filter(upload_parts::session_id.eq(session))
        .order(upload_parts::start_offset.asc())
        .select(UploadPartRow::as_select())
        .load(t.conn())?)
}

/// Whether an append's part was recorded.
pub enum Recorded {
    Won {
        received: i64,
    },
    /// Another append at this offset got there first.
    Lost {
        received: i64,
    },
}

/// Moves the session from the part's offset to `total` (and its expiry to
/// `expires`) and stores the part — unless another append at that offset
/// won.
pub fn append_part(
    t: &mut Tenant<'_>,
    part: &UploadPartRow,
    total: i64,
    now: NaiveDateTime,
    expires: NaiveDateTime,
) -> ApiResult<Recorded> {
    let mine = t
        .upload_sessions()
        .filter(upload_sessions::id.eq(part.session_id.clone()));
    let won = diesel::update(
        mine.clone()
            .filter(upload_sessions::received.eq(part.start_offset)),
    )
    .set((
        upload_sessions::received.eq(total),
        upload_sessions::updated_at.eq(now),
        upload_sessions::expires_at.eq(expires),
    ))
    .execute(t.conn())?;
    if won == 0 {
        // Completed, aborted or expired since it was read: gone.
        let received: i64 = mine
            .select(upload_sessions::received)
            .first(t.conn())
            .optional()?
            .ok_or(ApiError::NotFound("upload session"))?;
        return Ok(Recorded::Lost { received });
    }
    t.insert_upload_parts().values(part).execute(t.conn())?;
    Ok(Recorded::Won { received: total })
}

/// Ends a completed session: deletes its row (its parts' rows go with
/// it). `false` when it was gone already (aborted or expired meanwhile).
pub fn end_upload_session(t: &mut Tenant<'_>, id: &str) -> ApiResult<bool> {
    let ended =
        diesel::delete(t.upload_sessions().filter(upload_sessions::id.eq(id))).execute(t.conn())?;
    Ok(ended == 1)
}

/// Deletes a session (its parts' rows go with it); returns the keys of the
/// parts' bytes, for the caller to delete from the store after commit.
pub fn delete_upload_session(t: &mut Tenant<'_>, id: &str) -> ApiResult<Vec<String>> {
    let parts: Vec<String> = t
        .upload_parts()
        .filter(upload_parts::session_id.eq(id))
        .select(upload_parts::storage_key)
        .load(t.conn())?;
    diesel::delete(t.upload_sessions().filter(upload_sessions::id.eq(id))).execute(t.conn())?;
    Ok(parts)
}
