//! `tenantry.serviceaccount.v1.ServiceAccountService`: each method reads its
//! caller and request and hands them to the function that does the work.

use tenantry_proto::serviceaccount::v1::{
    self as pb, service_account_service_server::ServiceAccountService,
};
use tonic::Request;

use super::{accounts, convert, credentials, store};
use crate::{
    context::Call,
    error::{ApiResult, Reply, ok},
    state::AppState,
};

#[derive(Clone)]
pub struct ServiceAccountApi {
    state: AppState,
}

impl ServiceAccountApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl ServiceAccountService for ServiceAccountApi {
    async fn create_service_account(
        &self,
        request: Request<pb::CreateServiceAccountRequest>,
    ) -> Reply<pb::CreateServiceAccountResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(accounts::create_service_account(&self.state, meta, caller, message).await)
    }

    async fn get_service_account(
        &self,
        request: Request<pb::GetServiceAccountRequest>,
    ) -> Reply<pb::GetServiceAccountResponse> {
        let Call {
            caller, message, ..
        } = Call::signed_in(request)?;
        ok(accounts::get_service_account(&self.state, caller, message).await)
    }

    async fn list_service_accounts(
        &self,
        request: Request<pb::ListServiceAccountsRequest>,
    ) -> Reply<pb::ListServiceAccountsResponse> {
        let Call {
            caller, message, ..
        } = Call::signed_in(request)?;
        ok(accounts::list_service_accounts(&self.state, caller, message).await)
    }

    async fn update_service_account(
        &self,
        request: Request<pb::UpdateServiceAccountRequest>,
    ) -> Reply<pb::UpdateServiceAccountResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(accounts::update_service_account(&self.state, meta, caller, message).await)
    }

    async fn disable_service_account(
        &self,
        request: Request<pb::DisableServiceAccountRequest>,
    ) -> Reply<pb::DisableServiceAccountResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        let id = &message.service_account_id;
        let account = accounts::set_disabled(&self.state, meta, caller, id, true).await;
        ok(account.map(|a| pb::DisableServiceAccountResponse {
            service_account: Some(a),
        }))
    }

    async fn enable_service_account(
        &self,
        request: Request<pb::EnableServiceAccountRequest>,
    ) -> Reply<pb::EnableServiceAccountResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        let id = &message.service_account_id;
        let account = accounts::set_disabled(&self.state, meta, caller, id, false).await;
        ok(account.map(|a| pb::EnableServiceAccountResponse {
            service_account: Some(a),
        }))
    }

    async fn delete_service_account(
        &self,
        request: Request<pb::DeleteServiceAccountRequest>,
    ) -> Reply<pb::DeleteServiceAccountResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(accounts::delete_service_account(&self.state, meta, caller, message).await)
    }

    async fn add_service_account_key(
        &self,
        request: Request<pb::AddServiceAccountKeyRequest>,
    ) -> Reply<pb::AddServiceAccountKeyResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(credentials::add_key(&self.state, meta, caller, message).await)
    }

    async fn list_service_account_keys(
        &self,
        request: Request<pb::ListServiceAccountKeysRequest>,
    ) -> Reply<pb::ListServiceAccountKeysResponse> {
        let Call {
            caller, message, ..
        } = Call::signed_in(request)?;
        let account = &message.service_account_id;
        let listed = async {
            let rows = credentials::list(&self.state, caller, account, store::KEY).await?;
            let keys = rows.iter().map(convert::key).collect::<ApiResult<_>>()?;
            Ok(pb::ListServiceAccountKeysResponse { keys })
        };
        ok(listed.await)
    }

    async fn revoke_service_account_key(
        &self,
        request: Request<pb::RevokeServiceAccountKeyRequest>,
    ) -> Reply<pb::RevokeServiceAccountKeyResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        let ids = (message.service_account_id.as_str(), message.key_id.as_str());
        let revoked = credentials::revoke(&self.state, meta, caller, ids, store::KEY).await;
        ok(revoked.map(|()| pb::RevokeServiceAccountKeyResponse {}))
    }

    async fn add_service_account_secret(
        &self,
        request: Request<pb::AddServiceAccountSecretRequest>,
    ) -> Reply<pb::AddServiceAccountSecretResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(credentials::add_secret(&self.state, meta, caller, message).await)
    }

    async fn list_service_account_secrets(
        &self,
        request: Request<pb::ListServiceAccountSecretsRequest>,
    ) -> Reply<pb::ListServiceAccountSecretsResponse> {
        let Call {
            caller, message, ..
        } = Call::signed_in(request)?;
        let account = &message.service_account_id;
        let listed = credentials::list(&self.state, caller, account, store::SECRET).await;
        ok(listed.map(|rows| pb::ListServiceAccountSecretsResponse {
            secrets: rows.iter().map(convert::secret).collect(),
        }))
    }

    async fn revoke_service_account_secret(
        &self,
        request: Request<pb::RevokeServiceAccountSecretRequest>,
    ) -> Reply<pb::RevokeServiceAccountSecretResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        let ids = (
            message.service_account_id.as_str(),
            message.secret_id.as_str(),
        );
        let revoked = credentials::revoke(&self.state, meta, caller, ids, store::SECRET).await;
        ok(revoked.map(|()| pb::RevokeServiceAccountSecretResponse {}))
    }
}
