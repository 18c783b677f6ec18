//! Creating an account.

use diesel::{RunQueryDsl as _, result::DatabaseErrorKind};
use tenantry_proto::auth::v1 as pb;

use super::{email_verification, rules, users};
use crate::{
    audit::{self, Action, Event},
    context::RequestMeta,
    db::{TenantScope, rows::UserRow, schema::users as users_table},
    error::{ApiError, ApiResult, Violations},
    state::AppState,
    validate,
};

pub async fn register(
    state: &AppState,
    meta: RequestMeta,
    request: pb::RegisterRequest,
) -> ApiResult<pb::RegisterResponse> {
    let mut violations = Violations::new();
    let email = violations.take("email", validate::normalize_email(&request.email));
    // Every field is checked even when the email is malformed, so a form can
    // mark all its mistakes at once (the rules compare with the raw text).
    let compared = email.as_deref().unwrap_or(request.email.trim());
    violations.take(
        "password",
        rules::check_new_password(&request.password, compared),
    );
    violations.take(
        "display_name",
        rules::clean_display_name(&request.display_name, compared),
    );
    violations.finish()?;
    let email = email.unwrap_or_default();
    let display_name = rules::clean_display_name(&request.display_name, &email).unwrap_or_default();

    let password_hash = state.passwords.hash(request.password).await?;
    let now = state.now();
    let user = UserRow {
        id: uuid::Uuid::now_v7().to_string(),
        email,
        email_verified: false,
        password_hash: Some(password_hash),
        display_name,
        last_org_id: None,
        created_at: now,
        updated_at: now,
    };
    let row = user.clone();
    let verification = state
        .write(move |tx, st| {
            let inserted = diesel::insert_into(users_table::table)
                .values(&row)
                .execute(tx.conn());
            if let Err(diesel::result::Error::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                _,
            )) = inserted
            {
                return Err(ApiError::AlreadyExists(
                    "an account with this email already exists".into(),
                ));
            }
            inserted?;
            let token = email_verification::create(tx, st, &row)?;
            let mut t = tx.tenant(&TenantScope::account_events())?;
            let event = Event::by_user(&row.id, Action::AuthUserRegistered, "user", &row.id)
                .details(serde_json::json!({ "email": row.email }));
            audit::record(&mut t, now, &meta, event)?;
            Ok(token)
        })
        .await?;
    email_verification::send(state, &user.email, &verification).await;
    Ok(pb::RegisterResponse {
        user: Some(users::to_proto_user(&user)),
    })
}
