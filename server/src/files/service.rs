//! `tenantry.file.v1.FileService`.

use tenantry_proto::file::v1::{self as pb, file_service_server::FileService};
use tonic::{Request, Streaming};

use super::{download_url, manage, read, sessions, upload};
use crate::{
    context::Call,
    error::{Reply, ok},
    state::AppState,
};

#[derive(Clone)]
pub struct FileApi {
    state: AppState,
}

impl FileApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl FileService for FileApi {
    async fn upload(
        &self,
        request: Request<Streaming<pb::UploadRequest>>,
    ) -> Reply<pb::UploadResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(upload::upload(&self.state, meta, caller, message).await)
    }

    async fn create_upload_session(
        &self,
        request: Request<pb::CreateUploadSessionRequest>,
    ) -> Reply<pb::CreateUploadSessionResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(sessions::create_upload_session(&self.state, meta, caller, message).await)
    }

    async fn append_upload_chunk(
        &self,
        request: Request<pb::AppendUploadChunkRequest>,
    ) -> Reply<pb::AppendUploadChunkResponse> {
        let Call {
            caller, message, ..
        } = Call::signed_in(request)?;
        ok(sessions::append_upload_chunk(&self.state, caller, message).await)
    }

    async fn get_upload_session(
        &self,
        request: Request<pb::GetUploadSessionRequest>,
    ) -> Reply<pb::GetUploadSessionResponse> {
        let Call {
            caller, message, ..
        } = Call::signed_in(request)?;
        ok(sessions::get_upload_session(&self.state, caller, message).await)
    }

    async fn complete_upload_session(
        &self,
        request: Request<pb::CompleteUploadSessionRequest>,
    ) -> Reply<pb::CompleteUploadSessionResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(sessions::complete_upload_session(&self.state, meta, caller, message).await)
    }

    async fn abort_upload_session(
        &self,
        request: Request<pb::AbortUploadSessionRequest>,
    ) -> Reply<pb::AbortUploadSessionResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(sessions::abort_upload_session(&self.state, meta, caller, message).await)
    }

    async fn get_file(&self, request: Request<pb::GetFileRequest>) -> Reply<pb::GetFileResponse> {
        let Call {
            caller, message, ..
        } = Call::signed_in(request)?;
        ok(read::get_file(&self.state, caller, message).await)
    }

    async fn list_files(
        &self,
        request: Request<pb::ListFilesRequest>,
    ) -> Reply<pb::ListFilesResponse> {
        let Call {
            caller, message, ..
        } = Call::signed_in(request)?;
        ok(read::list_files(&self.state, caller, message).await)
    }

    async fn update_file(
        &self,
        request: Request<pb::UpdateFileRequest>,
    ) -> Reply<pb::UpdateFileResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(manage::update_file(&self.state, meta, caller, message).await)
    }

    type DownloadStream = read::DownloadStream;

    async fn download(&self, request: Request<pb::DownloadRequest>) -> Reply<Self::DownloadStream> {
        let Call {
            caller, message, ..
        } = Call::signed_in(request)?;
        ok(read::download(&self.state, caller, message).await)
    }

    async fn create_download_url(
        &self,
        request: Request<pb::CreateDownloadUrlRequest>,
    ) -> Reply<pb::CreateDownloadUrlResponse> {
        let Call {
            caller, message, ..
        } = Call::signed_in(request)?;
        ok(download_url::create_download_url(&self.state, caller, message).await)
    }

    async fn delete_file(
        &self,
        request: Request<pb::DeleteFileRequest>,
    ) -> Reply<pb::DeleteFileResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(manage::delete_file(&self.state, meta, caller, message).await)
    }

    async fn restore_file(
        &self,
        request: Request<pb::RestoreFileRequest>,
    ) -> Reply<pb::RestoreFileResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(manage::restore_file(&self.state, meta, caller, message).await)
    }

    async fn purge_file(
        &self,
        request: Request<pb::PurgeFileRequest>,
    ) -> Reply<pb::PurgeFileResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(manage::purge_file(&self.state, meta, caller, message).await)
    }

    async fn get_storage_usage(
        &self,
        request: Request<pb::GetStorageUsageRequest>,
    ) -> Reply<pb::GetStorageUsageResponse> {
        let Call { caller, .. } = Call::signed_in(request)?;
        ok(manage::get_storage_usage(&self.state, caller).await)
    }
}
