//! Once a person has proved who they are (a password, and a second factor
//! when they have one): the session opens, pinned to the organization the
//! rules choose, the lockout of their address is cleared, the sign-in is
//! audited, and a notice is mailed when the address is new.

use diesel::{ExpressionMethods as _, QueryDsl as _, RunQueryDsl as _};
use tenantry_proto::auth::v1 as pb;

use super::{
    issue::{self, AuthMethod},
    lockout::{self, Attempt},
    login::choose_org,
    sign_in_notice, users,
};
use crate::{
    audit::{self, Action, Event},
    context::RequestMeta,
    db::{TenantScope, Tx, rows::UserRow, schema::users as users_table},
    error::ApiResult,
    mail::Mail,
    state::AppState,
};

/// A session opened in a transaction, to sign and announce after commit.
pub struct SignedIn {
    user: UserRow,
    tokens: issue::Unsigned,
    notice: Option<Mail>,
}

impl SignedIn {
    /// Mails the notice, if any, and signs the tokens.
    pub async fn finish(self, state: &AppState) -> ApiResult<(pb::User, pb::TokenPair)> {
        if let Some(notice) = self.notice {
            state.mailer.send(notice).await;
        }
        Ok((users::to_proto_user(&self.user), self.tokens.sign(state)?))
    }
}

pub fn finish_sign_in(
    tx: &mut Tx<'_>,
    state: &AppState,
    meta: &RequestMeta,
    user: UserRow,
    requested_org: Option<&str>,
    method: AuthMethod,
) -> ApiResult<SignedIn> {
    let now = state.now();
    lockout::clear(tx.conn(), &Attempt::new(&user.email, Some(&user.id), meta))?;
    let pinned = choose_org(tx, &user, requested_org, method.multi_factor())?;
    let notice = sign_in_notice::due(tx.conn(), state, &user.id, &user.email, meta)?;
    let tokens = issue::open_session(tx, state, &user.id, pinned.clone(), method, meta)?;
    diesel::update(users_table::table.find(&user.id))
        .set(users_table::last_org_id.eq(&pinned))
        .execute(tx.conn())?;
    let scope = pinned.map_or_else(TenantScope::account_events, TenantScope::verified);
    let mut t = tx.tenant(&scope)?;
    let event = Event::by_user(&user.id, Action::AuthLogin, "session", tokens.session_id())
        .details(serde_json::json!({ "method": method.as_str() }));
    audit::record(&mut t, now, meta, event)?;
    Ok(SignedIn {
        user,
        tokens,
        notice,
    })
}
