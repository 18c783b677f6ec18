//! Reading files: one, a filtered page, or their bytes as a stream.

use diesel::{
    BoolExpressionMethods as _, EscapeExpressionMethods as _, ExpressionMethods as _,
    QueryDsl as _, RunQueryDsl as _, SelectableHelper as _, TextExpressionMethods as _,
};
use futures::{StreamExt as _, stream::BoxStream};
use tenantry_proto::file::v1::{self as pb, download_response::Part};
use tonic::Status;

use super::{convert, rules, store};
use crate::{
    auth::rules::parse_id,
    clock::from_proto,
    context::Caller,
    db::{
        rows::FileRow,
        schema::{file_labels, files},
    },
    error::{ApiError, ApiResult, Violations},
    paging::time_key,
    state::AppState,
};

pub fn file_id(raw: &str) -> ApiResult<String> {
    parse_id(raw).map_err(|d| ApiError::invalid("file_id", d))
}

pub async fn get(
    state: &AppState,
    caller: Caller,
    request: pb::GetFileRequest,
) -> ApiResult<pb::GetFileResponse> {
    let scope = caller.tenant()?;
    let id = file_id(&request.file_id)?;
    let (file, labels) = state
        .db
        .read(move |tx| {
            let mut t = tx.tenant(&scope)?;
            store::find_labelled(&mut t, &id)
        })
        .await?;
    let labels = convert::labels_by_file(labels)
        .remove(&file.id)
        .unwrap_or_default();
    Ok(pb::GetFileResponse {
        file: Some(convert::file(&file, &labels)),
    })
}

fn escape_like(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '\\' | '%' | '_' => vec!['\\', c],
            _ => vec![c],
        })
        .collect()
}

pub async fn list(
    state: &AppState,
    caller: Caller,
    request: pb::ListFilesRequest,
) -> ApiResult<pb::ListFilesResponse> {
    let scope = caller.tenant()?;
    let page = state
        .page_tokens
        .parse(scope.org_id(), &request, 100, 1000)?;
    let mut violations = Violations::new();
    let label = violations
        .take("label", rules::label_filter(&request.label))
        .flatten();
    let uploader = if request.uploader_user_id.is_empty() {
        None
    } else {
        violations.take("uploader_user_id", parse_id(&request.uploader_user_id))
    };
    let mut time = |field: &str, value: Option<prost_types::Timestamp>| {
        let parsed = value.as_ref().map(from_proto);
        if let Some(None) = parsed {
            violations.add(field, "is not a valid time");
        }
        parsed.flatten()
    };
    let after_time = time("created_after", request.created_after);
    let before_time = time("created_before", request.created_before);
    let by_name = match pb::FileOrder::try_from(request.order) {
        Ok(pb::FileOrder::NameAsc) => true,
        Ok(_) => false,
        Err(_) => {
            violations.add("order", "is not a known order");
            false
        }
    };
    for (field, value) in [
        ("name_prefix", &request.name_prefix),
        ("content_type", &request.content_type),
    ] {
        if value.len() > 255 || value.chars().any(char::is_control) {
            violations.add(
                field,
                "must be at most 255 bytes, without control characters",
            );
        }
    }
    violations.finish()?;
    let time_cursor = if by_name {
        None
    } else {
        page.after_time_and_id()?
    };
    let name_cursor = if by_name {
        page.after_text_and_id()?
    } else {
        None
    };

    let (rows, next_page_token, labels) = state
        .db
        .read(move |tx| {
            let mut t = tx.tenant(&scope)?;
            let mut query = t
                .files()
                .filter(files::deleted_at.is_null())
                .select(FileRow::as_select())
                .limit(page.limit())
                .into_boxed();
            if !request.name_prefix.is_empty() {
                query = query.filter(
                    files::name
                        .like(format!("{}%", escape_like(&request.name_prefix)))
                        .escape('\\'),
                );
            }
            if let Some(family) = request.content_type.strip_suffix("/*") {
                query = query.filter(
                    files::declared_content_type
                        .like(format!("{}/%", escape_like(family)))
                        .escape('\\'),
                );
            } else if !request.content_type.is_empty() {
                let ct = request.content_type.to_ascii_lowercase();
                query = query.filter(
                    files::declared_content_type
                        .eq(ct.clone())
                        .or(files::declared_content_type
                            .like(format!("{};%", escape_like(&ct)))
                            .escape('\\')),
                );
            }
            if let Some((key, value)) = label {
                // (Two arms: a boxed subquery cannot serve both databases.)
                let labelled = t.file_labels().filter(file_labels::key.eq(key));
                query = match value {
                    Some(value) => query.filter(
                        files::id.eq_any(
                            labelled
                                .filter(file_labels::value.eq(value))
                                .select(file_labels::file_id),
                        ),
                    ),
                    None => query.filter(files::id.eq_any(labelled.select(file_labels::file_id))),
                };
            }
            if let Some(uploader) = uploader {
                query = query.filter(files::uploader_id.eq(uploader));
            }
            if let Some(t) = after_time {
                query = query.filter(files::created_at.ge(t));
            }
            if let Some(t) = before_time {
                query = query.filter(files::created_at.lt(t));
            }
            // Cursors are written as a range bound plus a tie-break, so an
            // index range scan starts right at the cursor (deep pages cost
            // what the first one does).
            query = if by_name {
                if let Some((name, id)) = name_cursor {
                    query = query
                        .filter(files::name.ge(name.clone()))
                        .filter(files::name.gt(name).or(files::id.gt(id)));
                }
                query.order((files::name.asc(), files::id.asc()))
            } else {
                if let Some((time, id)) = time_cursor {
                    query = query
                        .filter(files::created_at.le(time))
                        .filter(files::created_at.lt(time).or(files::id.lt(id)));
                }
                query.order((files::created_at.desc(), files::id.desc()))
            };
            let rows: Vec<FileRow> = query.load(t.conn())?;
            let (rows, next) = page.finish(rows, |f| {
                if by_name {
                    vec![f.name.clone(), f.id.clone()]
                } else {
                    vec![time_key(f.created_at), f.id.clone()]
                }
            });
            let ids: Vec<String> = rows.iter().map(|f| f.id.clone()).collect();
            let labels = store::labels_of(&mut t, &ids)?;
            Ok((rows, next, labels))
        })
        .await?;
    let mut labels = convert::labels_by_file(labels);
    Ok(pb::ListFilesResponse {
        files: rows
            .iter()
            .map(|f| convert::file(f, &labels.remove(&f.id).unwrap_or_default()))
            .collect(),
        next_page_token,
    })
}

pub type DownloadStream = BoxStream<'static, Result<pb::DownloadResponse, Status>>;

pub async fn download(
    state: &AppState,
    caller: Caller,
    request: pb::DownloadRequest,
) -> ApiResult<DownloadStream> {
    let scope = caller.tenant()?;
    let id = file_id(&request.file_id)?;
    let mut violations = Violations::new();
    if request.offset < 0 {
        violations.add("offset", "must not be negative");
    }
    if request.length < 0 {
        violations.add("length", "must not be negative");
    }
    violations.finish()?;
    let (file, labels, key) = state
        .db
        .read(move |tx| {
            let mut t = tx.tenant(&scope)?;
            let file = store::find(&mut t, &id, false)?;
            let labels = store::labels_of(&mut t, std::slice::from_ref(&id))?;
            let key = store::blob_key(&mut t, &file.sha256)?;
            Ok((file, labels, key))
        })
        .await?;
    if request.offset > file.size {
        return Err(ApiError::invalid(
            "offset",
            format!("is past the end of the file ({} bytes)", file.size),
        ));
    }
    let available = file.size - request.offset;
    let length = if request.length == 0 {
        available
    } else {
        request.length.min(available)
    };
    let whole = request.offset == 0 && length == file.size;
    let offset = u64::try_from(request.offset).unwrap_or(0);
    // A whole-file download is checked against the recorded SHA-256.
    let bytes = if whole {
        state.blobs.read_checked(&key, &file.sha256).await?
    } else {
        let length = u64::try_from(length).unwrap_or(0);
        state.blobs.read(&key, offset, Some(length)).await?
    };
    let labels = convert::labels_by_file(labels)
        .remove(&file.id)
        .unwrap_or_default();
    let head = pb::DownloadResponse {
        part: Some(Part::File(convert::file(&file, &labels))),
    };
    // Chunks pass on; a store error (missing or corrupt bytes) ends the
    // stream with its status.
    let chunks = bytes.map(|chunk| match chunk {
        Ok(chunk) => Ok(pb::DownloadResponse {
            part: Some(Part::Chunk(chunk)),
        }),
        Err(err) => Err(Status::from(ApiError::from(err))),
    });
    Ok(futures::stream::once(async move { Ok(head) })
        .chain(chunks)
        .boxed())
}
