//! Reading accounts.

use diesel::{
    ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, RunQueryDsl as _,
    SelectableHelper as _,
};
use tenantry_proto::auth::v1 as pb;

use crate::{
    clock::to_proto,
    db::{AnyConnection, rows::UserRow, schema::users},
    error::{ApiError, ApiResult},
};

pub fn find(conn: &mut AnyConnection, id: &str) -> ApiResult<UserRow> {
    let query = users::table.find(id);
    crate::db::on_backend!(conn, |c| query
        .select(UserRow::as_select())
        .first(c)
        .optional())?
    .ok_or(ApiError::Unauthenticated("this account no longer exists"))
}

/// The account of `email`, whatever the case it is written in.
pub fn find_by_email(conn: &mut AnyConnection, email: &str) -> ApiResult<Option<UserRow>> {
    Ok(users::table
        .filter(crate::db::lower(users::email).eq(crate::validate::email_key(email)))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn to_proto_user(row: &UserRow) -> pb::User {
    pb::User {
        id: row.id.clone(),
        email: row.email.clone(),
        email_verified: row.email_verified,
        display_name: row.display_name.clone(),
        create_time: Some(to_proto(row.created_at)),
        update_time: Some(to_proto(row.updated_at)),
        has_password: row.password_hash.is_some(),
    }
}
