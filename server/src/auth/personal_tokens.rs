//! Personal access tokens: a person's opaque tokens for scripts and CI,
//! pinned to one organization and capped at a role. They are checked by the
//! authentication layer like sessions (see `credentials.rs`); here they are
//! made, listed and revoked.

use chrono::Duration;
use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, RunQueryDsl as _};
use tenantry_proto::auth::v1 as pb;

use crate::{
    access::Role,
    audit::{self, Action, Event},
    clock::to_proto,
    context::{Caller, RequestMeta},
    crypto::tokens::{hash_token, random_token},
    db::{TenantScope, rows::PersonalAccessTokenRow, schema::personal_access_tokens},
    error::{ApiError, ApiResult, Violations},
    ids::PersonalAccessTokenId,
    validate::{expiry, short_name},
};

/// `tnt_pat_<256 random bits, base64url>`.
const PREFIX: &str = "tnt_pat";

/// Whether a bearer token is a personal access token (no JWT starts so).
pub fn is_personal_token(token: &str) -> bool {
    token
        .strip_prefix(PREFIX)
        .is_some_and(|rest| rest.starts_with('_'))
}
/// The characters of a token shown in lists.
const SHOWN: usize = 12;
const DEFAULT_LIFETIME_DAYS: i64 = 90;
const MAX_LIFETIME_DAYS: i64 = 366;

pub async fn create_personal_access_token(
    state: &crate::state::AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::CreatePersonalAccessTokenRequest,
) -> ApiResult<pb::CreatePersonalAccessTokenResponse> {
    let scope = caller.tenant()?;
    let own = caller.member_role()?;
    let now = state.now();
    let mut violations = Violations::new();
    let name = violations.take("name", short_name(&request.name, 100));
    let role = match request.role {
        0 => Some(own),
        value => Role::from_proto(value),
    };
    match role {
        None => violations.add("role", "must be VIEWER, MEMBER, ADMIN or OWNER"),
        Some(role) if role > own => violations.add("role", "must not be above your own role"),
        Some(_) => {}
    }
    let expires_at = violations.take(
        "expire_time",
        expiry(
            request.expire_time.as_ref(),
            now,
            Duration::days(DEFAULT_LIFETIME_DAYS),
            Duration::days(MAX_LIFETIME_DAYS),
        ),
    );
    violations.finish()?;
    let token = random_token(PREFIX);
    let row = PersonalAccessTokenRow {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: caller.user_id().to_string(),
        org_id: scope.org_id().to_string(),
        name: name.unwrap_or_default(),
        role: role.unwrap_or(own),
        token_hash: hash_token(&token),
        token_prefix: token.chars().take(SHOWN).collect(),
        created_at: now,
        expires_at: expires_at.unwrap_or(now),
        revoked_at: None,
        last_used_at: None,
    };
    let written = row.clone();
    state
        .write(move |tx, st| {
            diesel::insert_into(personal_access_tokens::table)
                .values(&written)
                .execute(tx.conn())?;
            let event = Event::by(
                &caller,
                Action::AuthPersonalAccessTokenCreated,
                "personal_access_token",
                &written.id,
            )
            .details(serde_json::json!({ "name": written.name, "role": written.role.as_str() }));
            audit::record(&mut tx.tenant(&scope)?, st.now(), &meta, event)
        })
        .await?;
    Ok(pb::CreatePersonalAccessTokenResponse {
        personal_access_token: Some(to_proto_token(&row)),
        token,
    })
}

pub async fn list_personal_access_tokens(
    state: &crate::state::AppState,
    caller: Caller,
) -> ApiResult<pb::ListPersonalAccessTokensResponse> {
    let user_id = caller.user_id().to_string();
    let confined_to = caller.confined_to().map(ToString::to_string);
    let rows: Vec<PersonalAccessTokenRow> = state
        .db
        .read(move |tx| {
            let mut query = personal_access_tokens::table
                .filter(personal_access_tokens::user_id.eq(user_id))
                .order((
                    personal_access_tokens::created_at.desc(),
                    personal_access_tokens::id.desc(),
                ))
                .into_boxed();
            if let Some(org) = confined_to {
                query = query.filter(personal_access_tokens::org_id.eq(org));
            }
            Ok(query.load(tx.conn())?)
        })
        .await?;
    Ok(pb::ListPersonalAccessTokensResponse {
        personal_access_tokens: rows.iter().map(to_proto_token).collect(),
    })
}

pub async fn revoke_personal_access_token(
    state: &crate::state::AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::RevokePersonalAccessTokenRequest,
) -> ApiResult<pb::RevokePersonalAccessTokenResponse> {
    let id = PersonalAccessTokenId::parse(&request.personal_access_token_id)
        .map_err(|d| ApiError::invalid("personal_access_token_id", d))?;
    let confined_to = caller.confined_to().map(ToString::to_string);
    state
        .write(move |tx, st| {
            let row: Option<PersonalAccessTokenRow> = personal_access_tokens::table
                .find(&id)
                .filter(personal_access_tokens::user_id.eq(caller.user_id()))
                .first(tx.conn())
                .optional()?;
            let row = row
                .filter(|row| confined_to.as_ref().is_none_or(|org| *org == row.org_id))
                .ok_or(ApiError::NotFound("personal access token"))?;
            if row.revoked_at.is_some() {
                return Ok(());
            }
            diesel::update(personal_access_tokens::table.find(&id))
                .set(personal_access_tokens::revoked_at.eq(st.now()))
                .execute(tx.conn())?;
            st.liveness.forget_all();
            let event = Event::by(
                &caller,
                Action::AuthPersonalAccessTokenRevoked,
                "personal_access_token",
                &row.id,
            );
            // The organization comes from the token row the server wrote.
            let mut t = tx.tenant(&TenantScope::verified(row.org_id))?;
            audit::record(&mut t, st.now(), &meta, event)
        })
        .await?;
    Ok(pb::RevokePersonalAccessTokenResponse {})
}

fn to_proto_token(row: &PersonalAccessTokenRow) -> pb::PersonalAccessToken {
    pb::PersonalAccessToken {
        id: row.id.clone(),
        name: row.name.clone(),
        organization_id: row.org_id.clone(),
        role: row.role.to_proto() as i32,
        prefix: row.token_prefix.clone(),
        create_time: Some(to_proto(row.created_at)),
        expire_time: Some(to_proto(row.expires_at)),
        revoke_time: row.revoked_at.map(to_proto),
        last_use_time: row.last_used_at.map(to_proto),
    }
}
