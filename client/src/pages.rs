//! Every List call as a [`Stream`](futures::Stream) of its items: [`Tenantry::list`] asks
//! for the next page (AIP-158 `page_token`) only when the items of the last
//! one have been taken.

use futures::{
    StreamExt as _, TryStreamExt as _,
    future::BoxFuture,
    stream::{self, BoxStream},
};
use tonic::Status;

use crate::{Result, Tenantry, audit, auth, file, org, serviceaccount, sso};

/// One page: its items and the next page's token (empty: the last page).
pub type Page<T> = std::result::Result<(Vec<T>, String), Status>;

/// A List request that [`Tenantry::list`] can page through. Implemented
/// for every List request of the API.
pub trait ListRequest: Clone + Send + Sync + 'static {
    /// What the list holds.
    type Item: Send + 'static;

    /// Calls the List RPC for one page.
    fn call(self, tenantry: &Tenantry) -> BoxFuture<'static, Page<Self::Item>>;

    /// Asks for the page after `token` (a no-op for lists of one page).
    fn set_page_token(&mut self, token: String);
}

impl Tenantry {
    /// The items of every page of `request`, in order, fetching each page
    /// when the stream reaches it. The request's filters and page size are
    /// kept for every page.
    ///
    /// ```no_run
    /// # async fn demo(tenantry: tenantry_client::Tenantry) -> tenantry_client::Result<()> {
    /// use futures::TryStreamExt as _;
    /// use tenantry_client::file::v1::ListFilesRequest;
    ///
    /// let request = ListFilesRequest { name_prefix: "reports/".into(), ..Default::default() };
    /// let mut files = tenantry.list(request);
    /// while let Some(file) = files.try_next().await? {
    ///     println!("{} {}", file.name, file.size_bytes);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list<R: ListRequest>(&self, request: R) -> BoxStream<'static, Result<R::Item>> {
        let tenantry = self.clone();
        stream::try_unfold(Some(request), move |next| {
            let tenantry = tenantry.clone();
            async move {
                let Some(request) = next else {
                    return Ok::<_, crate::Error>(None);
                };
                let (items, token) = request.clone().call(&tenantry).await?;
                let next = (!token.is_empty()).then(|| {
                    let mut request = request;
                    request.set_page_token(token);
                    request
                });
                Ok(Some((stream::iter(items).map(Ok), next)))
            }
        })
        .try_flatten()
        .boxed()
    }
}

/// `list!(Request, Item, service.method, items_field, paged | whole)`:
/// a paged list follows `next_page_token`; a whole one is one page.
macro_rules! list {
    ($request:ty, $item:ty, $service:ident . $method:ident, $items:ident, $kind:ident) => {
        impl ListRequest for $request {
            type Item = $item;

            fn call(
                self,
                tenantry: &Tenantry,
            ) -> BoxFuture<'static, Page<$item>> {
                let mut client = tenantry.$service();
                Box::pin(async move {
                    let response = client.$method(self).await?.into_inner();
                    Ok((response.$items, list!(@next $kind response)))
                })
            }

            fn set_page_token(&mut self, token: String) {
                list!(@set $kind self token);
            }
        }
    };
    (@next paged $response:ident) => { $response.next_page_token };
    (@next whole $response:ident) => { String::new() };
    (@set paged $request:ident $token:ident) => { $request.page_token = $token };
    (@set whole $request:ident $token:ident) => { let _ = ($request, $token); };
}

list!(
    auth::v1::ListSessionsRequest,
    auth::v1::Session,
    auth.list_sessions,
    sessions,
    paged
);
list!(
    auth::v1::ListPersonalAccessTokensRequest,
    auth::v1::PersonalAccessToken,
    auth.list_personal_access_tokens,
    personal_access_tokens,
    whole
);
list!(
    org::v1::ListMyOrganizationsRequest,
    org::v1::Membership,
    org.list_my_organizations,
    memberships,
    paged
);
list!(
    org::v1::ListMembersRequest,
    org::v1::Member,
    org.list_members,
    members,
    paged
);
list!(
    org::v1::ListInvitationsRequest,
    org::v1::Invitation,
    org.list_invitations,
    invitations,
    paged
);
list!(
    file::v1::ListFilesRequest,
    file::v1::File,
    files.list_files,
    files,
    paged
);
list!(
    audit::v1::ListAuditEventsRequest,
    audit::v1::AuditEvent,
    audit.list_audit_events,
    events,
    paged
);
list!(
    serviceaccount::v1::ListServiceAccountsRequest,
    serviceaccount::v1::ServiceAccount,
    service_accounts.list_service_accounts,
    service_accounts,
    paged
);
list!(
    serviceaccount::v1::ListServiceAccountKeysRequest,
    serviceaccount::v1::ServiceAccountKey,
    service_accounts.list_service_account_keys,
    keys,
    whole
);
list!(
    serviceaccount::v1::ListServiceAccountSecretsRequest,
    serviceaccount::v1::ServiceAccountSecret,
    service_accounts.list_service_account_secrets,
    secrets,
    whole
);
list!(
    sso::v1::ListMyIdentitiesRequest,
    sso::v1::Identity,
    sso.list_my_identities,
    identities,
    whole
);
