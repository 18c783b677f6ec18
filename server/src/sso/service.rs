//! `tenantry.sso.v1.SsoService`.

use tenantry_proto::sso::v1::{self as pb, sso_service_server::SsoService};
use tonic::Request;

use super::{config, domains, identities, link, login};
use crate::{
    context::{Call, meta},
    error::{Reply, ok},
    state::AppState,
};

#[derive(Clone)]
pub struct SsoApi {
    state: AppState,
}

impl SsoApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl SsoService for SsoApi {
    async fn get_sso_config(
        &self,
        request: Request<pb::GetSsoConfigRequest>,
    ) -> Reply<pb::GetSsoConfigResponse> {
        ok(config::get_sso_config(&self.state, Call::signed_in(request)?.caller).await)
    }

    async fn upsert_sso_config(
        &self,
        request: Request<pb::UpsertSsoConfigRequest>,
    ) -> Reply<pb::UpsertSsoConfigResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(config::upsert_sso_config(&self.state, meta, caller, message).await)
    }

    async fn delete_sso_config(
        &self,
        request: Request<pb::DeleteSsoConfigRequest>,
    ) -> Reply<pb::DeleteSsoConfigResponse> {
        let Call { meta, caller, .. } = Call::signed_in(request)?;
        ok(config::delete_sso_config(&self.state, meta, caller).await)
    }

    async fn test_sso_config(
        &self,
        request: Request<pb::TestSsoConfigRequest>,
    ) -> Reply<pb::TestSsoConfigResponse> {
        ok(config::test_sso_config(&self.state, Call::signed_in(request)?.caller).await)
    }

    async fn add_sso_domain(
        &self,
        request: Request<pb::AddSsoDomainRequest>,
    ) -> Reply<pb::AddSsoDomainResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(domains::add_sso_domain(&self.state, meta, caller, message).await)
    }

    async fn verify_sso_domain(
        &self,
        request: Request<pb::VerifySsoDomainRequest>,
    ) -> Reply<pb::VerifySsoDomainResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(domains::verify_sso_domain(&self.state, meta, caller, message).await)
    }

    async fn list_sso_domains(
        &self,
        request: Request<pb::ListSsoDomainsRequest>,
    ) -> Reply<pb::ListSsoDomainsResponse> {
        ok(domains::list_sso_domains(&self.state, Call::signed_in(request)?.caller).await)
    }

    async fn remove_sso_domain(
        &self,
        request: Request<pb::RemoveSsoDomainRequest>,
    ) -> Reply<pb::RemoveSsoDomainResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(domains::remove_sso_domain(&self.state, meta, caller, message).await)
    }

    async fn begin_sso_login(
        &self,
        request: Request<pb::BeginSsoLoginRequest>,
    ) -> Reply<pb::BeginSsoLoginResponse> {
        ok(login::begin_sso_login(&self.state, request.into_inner()).await)
    }

    async fn complete_sso_login(
        &self,
        request: Request<pb::CompleteSsoLoginRequest>,
    ) -> Reply<pb::CompleteSsoLoginResponse> {
        let meta = meta(&request);
        let answer = login::complete_sso_login(&self.state, meta, request.into_inner()).await;
        let pending = answer.as_ref().is_ok_and(|a| a.pending_link.is_some());
        let pending = pending.then_some("link_pending");
        self.state.meters.sign_in("sso", &answer, pending);
        ok(answer)
    }

    async fn confirm_sso_link(
        &self,
        request: Request<pb::ConfirmSsoLinkRequest>,
    ) -> Reply<pb::ConfirmSsoLinkResponse> {
        let meta = meta(&request);
        ok(link::confirm_sso_link(&self.state, meta, request.into_inner()).await)
    }

    async fn list_my_identities(
        &self,
        request: Request<pb::ListMyIdentitiesRequest>,
    ) -> Reply<pb::ListMyIdentitiesResponse> {
        ok(identities::list_my_identities(&self.state, Call::signed_in(request)?.caller).await)
    }

    async fn unlink_identity(
        &self,
        request: Request<pb::UnlinkIdentityRequest>,
    ) -> Reply<pb::UnlinkIdentityResponse> {
        let Call {
            meta,
            caller,
            message,
        } = Call::signed_in(request)?;
        ok(identities::unlink_identity(&self.state, meta, caller, message).await)
    }
}
