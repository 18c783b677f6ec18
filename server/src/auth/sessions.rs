//! The caller's sessions: list, revoke one, revoke the others, log out.

use tenantry_proto::auth::v1 as pb;

use super::store::{self, Ending};
use crate::{
    audit::{self, Action, Event},
    clock::to_proto,
    context::{Caller, RequestMeta},
    db::{TenantScope, Tx, rows::SessionRow},
    error::{ApiError, ApiResult},
    paging::time_key,
    state::AppState,
};

pub async fn list_sessions(
    state: &AppState,
    caller: Caller,
    request: pb::ListSessionsRequest,
) -> ApiResult<pb::ListSessionsResponse> {
    let page = state
        .page_tokens
        .parse(caller.user_id(), &request, 50, 100)?;
    let after = page.after_time_and_id()?;
    let now = state.now();
    let user_id = caller.user_id().to_string();
    let confined_to = caller.confined_to().map(ToString::to_string);
    let rows = state
        .db
        .read(move |tx| {
            let rows = store::list_sessions(tx, &user_id, confined_to, now, page.limit(), after)?;
            Ok(page.finish(rows, |s| vec![time_key(s.created_at), s.id.clone()]))
        })
        .await?;
    let (rows, next_page_token) = rows;
    Ok(pb::ListSessionsResponse {
        sessions: rows
            .iter()
            .map(|s| to_proto_session(s, caller.session_id().map_or("", |id| id)))
            .collect(),
        next_page_token,
    })
}

pub async fn revoke_session(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::RevokeSessionRequest,
) -> ApiResult<pb::RevokeSessionResponse> {
    let id = crate::ids::SessionId::parse(&request.session_id)
        .map_err(|d| ApiError::invalid("session_id", d))?;
    state
        .write(move |tx, st| {
            let ended = end_sessions(tx, st, &caller, Some(&id), None, "revoked_by_user")?;
            if ended == 0 {
                return Err(ApiError::NotFound("session"));
            }
            audit_session_event(tx, st, &caller, &meta, Action::AuthSessionRevoked, &id)
        })
        .await?;
    Ok(pb::RevokeSessionResponse {})
}

pub async fn revoke_other_sessions(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
) -> ApiResult<pb::RevokeOtherSessionsResponse> {
    let count = state
        .write(move |tx, st| {
            let ended = end_sessions(
                tx,
                st,
                &caller,
                None,
                Some(caller.session()?),
                "revoked_by_user",
            )?;
            audit_session_event(
                tx,
                st,
                &caller,
                &meta,
                Action::AuthSessionOthersRevoked,
                caller.session()?,
            )?;
            Ok(ended)
        })
        .await?;
    Ok(pb::RevokeOtherSessionsResponse {
        revoked_count: i64::try_from(count).unwrap_or(i64::MAX),
    })
}

pub async fn logout(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
) -> ApiResult<pb::LogoutResponse> {
    state
        .write(move |tx, st| {
            end_sessions(tx, st, &caller, Some(caller.session()?), None, "logout")?;
            audit_session_event(
                tx,
                st,
                &caller,
                &meta,
                Action::AuthLogout,
                caller.session()?,
            )
        })
        .await?;
    Ok(pb::LogoutResponse {})
}

/// Revokes the caller's live sessions: only `only` if given, all but
/// `except` otherwise. Returns how many ended.
pub fn end_sessions(
    tx: &mut Tx<'_>,
    state: &AppState,
    caller: &Caller,
    only: Option<&str>,
    except: Option<&str>,
    reason: &str,
) -> ApiResult<usize> {
    let ending = Ending {
        user_id: caller.user_id(),
        only,
        except,
        org: caller.confined_to().map(|org| &**org),
        reason,
    };
    let ended = store::end_sessions(tx, &ending, state.now())?;
    match only {
        Some(id) => state.liveness.forget(id),
        None => state.liveness.forget_all(),
    }
    Ok(ended)
}

fn audit_session_event(
    tx: &mut Tx<'_>,
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
    action: Action,
    session_id: &str,
) -> ApiResult<()> {
    let mut t = tx.tenant(&TenantScope::account_events())?;
    audit::record(
        &mut t,
        state.now(),
        meta,
        Event::by(caller, action, "session", session_id),
    )
}

fn to_proto_session(row: &SessionRow, current: &str) -> pb::Session {
    pb::Session {
        id: row.id.clone(),
        create_time: Some(to_proto(row.created_at)),
        last_active_time: Some(to_proto(row.last_active_at)),
        idle_expire_time: Some(to_proto(row.idle_expires_at)),
        absolute_expire_time: Some(to_proto(row.absolute_expires_at)),
        user_agent: row.user_agent.clone(),
        client_ip: row.client_ip.clone(),
        organization_id: row.org_id.clone().unwrap_or_default(),
        current: row.id == current,
    }
}
