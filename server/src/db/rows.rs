//! Rows as stored. They sit next to the schema because tenant-owned tables are
//! not visible outside `db` (see `schema`).

use chrono::NaiveDateTime;
use diesel::{Insertable, Queryable, Selectable};

use crate::{access::Role, org::LoginPolicy};

use super::schema::{
    email_verifications, jobs, login_throttle, mail_outbox, organizations, password_resets,
    personal_access_tokens, refresh_tokens, service_credentials, sessions,
    tenant::{
        audit_events, blobs, file_labels, files, invitations, memberships, service_accounts,
        sso_configs, sso_identities, sso_link_requests, sso_login_states, upload_parts,
        upload_sessions,
    },
    users,
};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub password_hash: Option<String>,
    pub display_name: String,
    pub last_org_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organizations, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct OrganizationRow {
    pub id: String,
    pub name: String,
    pub slug: String,
    #[diesel(deserialize_as = String)]
    pub login_policy: LoginPolicy,
    pub max_file_size: i64,
    pub storage_quota: i64,
    pub audit_seq: i64,
    pub audit_head: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
    /// Bytes of all files not yet purged.
    pub storage_used: i64,
    /// Bytes actually stored (each distinct content once).
    pub storage_stored: i64,
    /// Members must sign in with a second factor.
    pub require_mfa: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub org_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub last_active_at: NaiveDateTime,
    pub idle_expires_at: NaiveDateTime,
    pub absolute_expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoke_reason: Option<String>,
    pub user_agent: String,
    pub client_ip: String,
    /// `password` or `sso`.
    pub auth_method: String,
    /// Bumped each time the session moves to another organization (or out
    /// of one); access tokens carry it.
    pub pin_generation: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct RefreshTokenRow {
    pub token_hash: String,
    pub session_id: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub spent_at: Option<NaiveDateTime>,
    pub successor_hash: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = login_throttle, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct LoginThrottleRow {
    /// `account <email>`, `account <email> from <ip>` or `address <ip>`.
    pub subject: String,
    pub failures: i64,
    pub last_failure_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = email_verifications, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct EmailVerificationRow {
    pub token_hash: String,
    pub user_id: String,
    pub email: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = password_resets, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct PasswordResetRow {
    pub token_hash: String,
    pub user_id: String,
    pub email: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = mail_outbox, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct MailRow {
    pub id: String,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = memberships, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct MembershipRow {
    pub org_id: String,
    pub user_id: String,
    #[diesel(deserialize_as = String)]
    pub role: Role,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invitations, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct InvitationRow {
    pub id: String,
    pub org_id: String,
    pub email: String,
    #[diesel(deserialize_as = String)]
    pub role: Role,
    pub token_hash: String,
    pub inviter_id: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub accepted_at: Option<NaiveDateTime>,
    pub accepted_by: Option<String>,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct AuditEventRow {
    pub id: String,
    pub org_id: String,
    pub seq: i64,
    pub occurred_at: NaiveDateTime,
    pub actor_type: String,
    pub actor_id: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub outcome: String,
    pub request_id: String,
    pub client_ip: String,
    pub user_agent: String,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = blobs, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct BlobRow {
    pub org_id: String,
    pub sha256: String,
    pub size: i64,
    pub storage_key: String,
    pub ref_count: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = files, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct FileRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub declared_content_type: String,
    pub detected_content_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploader_id: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = file_labels, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct FileLabelRow {
    pub org_id: String,
    pub file_id: String,
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = upload_sessions, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct UploadSessionRow {
    pub id: String,
    pub org_id: String,
    pub uploader_id: String,
    pub name: String,
    pub content_type: String,
    pub expected_size: Option<i64>,
    pub expected_sha256: Option<String>,
    /// JSON object of labels.
    pub labels: String,
    pub received: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = upload_parts, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct UploadPartRow {
    pub org_id: String,
    pub session_id: String,
    pub start_offset: i64,
    pub size: i64,
    pub storage_key: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = jobs, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub org_id: Option<String>,
    pub target: String,
    pub run_at: NaiveDateTime,
    pub attempts: i64,
    pub locked_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sso_configs, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct SsoConfigRow {
    pub org_id: String,
    pub issuer_url: String,
    pub client_id: String,
    pub secret_key_id: Option<String>,
    /// base64 of nonce‖ciphertext; never the secret itself.
    pub secret_sealed: Option<String>,
    pub settings: String,
    pub enabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sso_login_states, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct SsoLoginStateRow {
    pub state_hash: String,
    pub org_id: String,
    pub redirect_uri: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sso_link_requests, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct SsoLinkRequestRow {
    pub id: String,
    pub org_id: String,
    pub user_id: String,
    pub issuer: String,
    /// JSON of what the provider said about the person.
    pub person: String,
    pub link_token_hash: String,
    pub email_token_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sso_identities, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct SsoIdentityRow {
    pub id: String,
    pub org_id: String,
    pub issuer: String,
    pub subject: String,
    pub user_id: String,
    pub email: String,
    pub created_at: NaiveDateTime,
    pub last_login_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = service_accounts, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct ServiceAccountRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub description: String,
    #[diesel(deserialize_as = String)]
    pub role: Role,
    pub disabled_at: Option<NaiveDateTime>,
    pub certificate_sha256: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A key (`kind` = "key": algorithm and public key) or a client secret
/// (`kind` = "secret": its hash and first characters) of a service account.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = service_credentials, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct ServiceCredentialRow {
    pub id: String,
    pub service_account_id: String,
    pub org_id: String,
    pub kind: String,
    pub algorithm: Option<String>,
    pub public_key_pem: Option<String>,
    pub generated: bool,
    pub secret_hash: Option<String>,
    pub secret_prefix: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = personal_access_tokens, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct PersonalAccessTokenRow {
    pub id: String,
    pub user_id: String,
    pub org_id: String,
    pub name: String,
    #[diesel(deserialize_as = String)]
    pub role: Role,
    pub token_hash: String,
    pub token_prefix: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
}
