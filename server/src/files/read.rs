//! Reading files: one, a filtered page, or their bytes as a stream.

use futures::{StreamExt as _, stream::BoxStream};
use tenantry_proto::file::v1::{self as pb, download_response::Part};
use tonic::Status;

use super::{
    convert,
    listing::{self, FileFilter},
    store,
};
use crate::{
    context::Caller,
    error::{ApiError, ApiResult, Violations},
    state::AppState,
};

pub fn file_id(raw: &str) -> ApiResult<crate::ids::FileId> {
    crate::ids::FileId::parse(raw).map_err(|d| ApiError::invalid("file_id", d))
}

pub async fn get_file(
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

/// ListFiles: validate the filter, read one page, attach the labels.
pub async fn list_files(
    state: &AppState,
    caller: Caller,
    request: pb::ListFilesRequest,
) -> ApiResult<pb::ListFilesResponse> {
    let scope = caller.tenant()?;
    let page = state
        .page_tokens
        .parse(scope.org_id(), &request, 100, 1000)?;
    let filter = FileFilter::parse(&request)?;
    let (rows, next_page_token, labels) = state
        .read(move |tx, _| {
            let mut t = tx.tenant(&scope)?;
            let rows = listing::list_files(&mut t, &filter, &page)?;
            let (rows, next) = page.finish(rows, |f| filter.cursor_of(f));
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
            let labels = store::labels_of(&mut t, &[id.to_string()])?;
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
