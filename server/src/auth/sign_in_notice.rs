//! "New sign-in to your account": mailed when a password sign-in comes from
//! an address none of the account's sessions came from (the first sign-in
//! of an account is not news). `--mail-new-sign-in false` turns it off.

use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, RunQueryDsl as _};

use crate::{
    context::RequestMeta,
    db::{AnyConnection, schema::sessions},
    error::ApiResult,
    mail::{Mail, templates},
    state::AppState,
};

/// The notice to send for this sign-in, if one is due. Call before the new
/// session is stored.
pub fn due(
    conn: &mut AnyConnection,
    state: &AppState,
    user_id: &str,
    email: &str,
    meta: &RequestMeta,
) -> ApiResult<Option<Mail>> {
    if !state.config.mail.mail_new_sign_in {
        return Ok(None);
    }
    let earlier: Option<String> = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .select(sessions::id)
        .first(conn)
        .optional()?;
    let from_here: Option<String> = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::client_ip.eq(&meta.client_ip))
        .select(sessions::id)
        .first(conn)
        .optional()?;
    if earlier.is_none() || from_here.is_some() {
        return Ok(None);
    }
    let when = state.now().format("%Y-%m-%d %H:%M").to_string();
    Ok(Some(templates::new_sign_in(
        email,
        &when,
        &meta.client_ip,
        &meta.user_agent,
    )))
}
