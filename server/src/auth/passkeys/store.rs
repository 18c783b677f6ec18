//! The `passkeys` table: a user's WebAuthn credentials, as webauthn-rs's
//! record of each (JSON), found by user or by credential id.

use chrono::NaiveDateTime;
use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, RunQueryDsl as _};
use tenantry_proto::auth::v1 as pb;
use webauthn_rs::prelude::{Credential, Passkey, Uuid};

use crate::{
    clock::to_proto,
    db::{AnyConnection, schema::passkeys},
    error::{ApiError, ApiResult},
};

/// One stored passkey.
pub struct Stored {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub passkey: Passkey,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
}

type Row = (
    String,
    String,
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

const COLUMNS: (
    passkeys::id,
    passkeys::user_id,
    passkeys::name,
    passkeys::credential,
    passkeys::created_at,
    passkeys::last_used_at,
) = (
    passkeys::id,
    passkeys::user_id,
    passkeys::name,
    passkeys::credential,
    passkeys::created_at,
    passkeys::last_used_at,
);

impl Stored {
    fn from_row((id, user_id, name, credential, created_at, last_used_at): Row) -> ApiResult<Self> {
        let passkey = serde_json::from_str(&credential).map_err(ApiError::internal)?;
        Ok(Self {
            id,
            user_id,
            name,
            passkey,
            created_at,
            last_used_at,
        })
    }

    pub fn to_proto(&self) -> pb::Passkey {
        pb::Passkey {
            id: self.id.clone(),
            name: self.name.clone(),
            create_time: Some(to_proto(self.created_at)),
            last_use_time: self.last_used_at.map(to_proto),
            backed_up: Credential::from(self.passkey.clone()).backup_state,
        }
    }
}

/// The user's passkeys, oldest first.
pub fn of_user(conn: &mut AnyConnection, user_id: &str) -> ApiResult<Vec<Stored>> {
    let rows: Vec<Row> = passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .order((passkeys::created_at.asc(), passkeys::id.asc()))
        .select(COLUMNS)
        .load(conn)?;
    rows.into_iter().map(Stored::from_row).collect()
}

pub fn count(conn: &mut AnyConnection, user_id: &str) -> ApiResult<i64> {
    Ok(passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .count()
        .get_result(conn)?)
}

/// The passkey an authenticator answered with, if it belongs to the account
/// whose handle the authenticator gave.
pub fn by_credential(
    conn: &mut AnyConnection,
    user_handle: &Uuid,
    credential_id: &[u8],
) -> ApiResult<Option<Stored>> {
    let row: Option<Row> = passkeys::table
        .filter(passkeys::credential_id.eq(encode_id(credential_id)))
        .filter(passkeys::user_handle.eq(user_handle.to_string()))
        .select(COLUMNS)
        .first(conn)
        .optional()?;
    row.map(Stored::from_row).transpose()
}

/// The id authenticators keep for this account: the one its passkeys
/// already carry, else a new random one (no personal data in it).
pub fn user_handle(conn: &mut AnyConnection, user_id: &str) -> ApiResult<Uuid> {
    let known: Option<String> = passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .select(passkeys::user_handle)
        .first(conn)
        .optional()?;
    match known {
        Some(text) => Uuid::parse_str(&text).map_err(ApiError::internal),
        None => Ok(Uuid::new_v4()),
    }
}

pub struct NewPasskey<'a> {
    pub user_id: &'a str,
    pub user_handle: Uuid,
    pub name: &'a str,
    pub passkey: &'a Passkey,
    pub now: NaiveDateTime,
}

/// Stores a registered passkey; ALREADY_EXISTS when its credential is
/// registered already (to any account).
pub fn insert(conn: &mut AnyConnection, new: &NewPasskey<'_>) -> ApiResult<Stored> {
    let id = Uuid::now_v7().to_string();
    let credential_id = encode_id(new.passkey.cred_id());
    let taken: i64 = passkeys::table
        .filter(passkeys::credential_id.eq(&credential_id))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(ApiError::AlreadyExists(
            "this passkey is registered already".into(),
        ));
    }
    diesel::insert_into(passkeys::table)
        .values((
            passkeys::id.eq(&id),
            passkeys::user_id.eq(new.user_id),
            passkeys::user_handle.eq(new.user_handle.to_string()),
            passkeys::credential_id.eq(credential_id),
            passkeys::name.eq(new.name),
            passkeys::credential.eq(to_json(new.passkey)?),
            passkeys::created_at.eq(new.now),
            passkeys::last_used_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(Stored {
        id,
        user_id: new.user_id.to_owned(),
        name: new.name.to_owned(),
        passkey: new.passkey.clone(),
        created_at: new.now,
        last_used_at: None,
    })
}

/// Records a sign-in with `stored` (its counter and backup state as the
/// authenticator reported them).
pub fn record_use(conn: &mut AnyConnection, stored: &Stored, now: NaiveDateTime) -> ApiResult<()> {
    diesel::update(passkeys::table.find(&stored.id))
        .set((
            passkeys::credential.eq(to_json(&stored.passkey)?),
            passkeys::last_used_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes the user's passkey `id`; false when they have none by that id.
pub fn delete(conn: &mut AnyConnection, user_id: &str, id: &str) -> ApiResult<bool> {
    let gone = diesel::delete(
        passkeys::table
            .filter(passkeys::id.eq(id))
            .filter(passkeys::user_id.eq(user_id)),
    )
    .execute(conn)?;
    Ok(gone > 0)
}

fn to_json(passkey: &Passkey) -> ApiResult<String> {
    serde_json::to_string(passkey).map_err(ApiError::internal)
}

fn encode_id(id: &[u8]) -> String {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    URL_SAFE_NO_PAD.encode(id)
}
