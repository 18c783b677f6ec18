//! The caller's linked identities.

use tenantry_proto::sso::v1 as pb;

use super::store;
use crate::{
    audit::{self, Action, Event},
    auth::users,
    clock::to_proto,
    context::{Caller, RequestMeta},
    db::{TenantScope, UserScope, rows::SsoIdentityRow},
    error::{ApiError, ApiResult},
    state::AppState,
};

fn to_proto_identity(row: &SsoIdentityRow) -> pb::Identity {
    pb::Identity {
        id: row.id.clone(),
        organization_id: row.org_id.clone(),
        issuer: row.issuer.clone(),
        subject: row.subject.clone(),
        email: row.email.clone(),
        create_time: Some(to_proto(row.created_at)),
        last_login_time: Some(to_proto(row.last_login_at)),
    }
}

pub async fn list_my_identities(
    state: &AppState,
    caller: Caller,
) -> ApiResult<pb::ListMyIdentitiesResponse> {
    let scope = UserScope::from_auth(&caller);
    let confined_to = caller.confined_to().map(ToString::to_string);
    let rows = state
        .db
        .read(move |tx| store::list_my_identities(&mut tx.user(&scope)?, confined_to))
        .await?;
    Ok(pb::ListMyIdentitiesResponse {
        identities: rows.iter().map(to_proto_identity).collect(),
    })
}

pub async fn unlink_identity(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::UnlinkIdentityRequest,
) -> ApiResult<pb::UnlinkIdentityResponse> {
    let id = crate::ids::IdentityId::parse(&request.identity_id)
        .map_err(|d| ApiError::invalid("identity_id", d))?;
    state
        .write(move |tx, st| {
            let mut own = tx.user(&UserScope::from_auth(&caller))?;
            let all = store::list_my_identities(&mut own, None)?;
            let identity = all.iter().find(|i| i.id == id).cloned().ok_or(ApiError::NotFound("identity"))?;
            if caller.confined_to().is_some_and(|org| *org != identity.org_id) {
                return Err(ApiError::permission_denied(
                    "this session was opened through your organization's identity provider and acts only within that organization: sign in again with the account's own password to unlink another organization's identity",
                ));
            }
            let user = users::find(tx.conn(), caller.user_id())?;
            if user.password_hash.is_none() && all.len() <= 1 {
                return Err(ApiError::failed_precondition(
                    "this is your only way to sign in: set a password or link another identity first",
                ));
            }
            // The organization of an identity row the caller owns.
            let mut t = tx.tenant(&TenantScope::verified(&identity.org_id))?;
            store::delete_identity(&mut t, &identity.id)?;
            let event = Event::by(&caller, Action::SsoIdentityUnlinked, "identity", &identity.id)
                .details(serde_json::json!({ "issuer": identity.issuer, "subject": identity.subject }));
            audit::record(&mut t, st.now(), &meta, event)?;
            Ok(pb::UnlinkIdentityResponse {})
        })
        .await
}
