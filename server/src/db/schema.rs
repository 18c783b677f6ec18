//! The one schema for both databases: portable types only (Text, BigInt,
//! Bool, Timestamp); ids are UUIDv7 text.
//!
//! Tables that belong to no tenant (accounts, sessions, the organization
//! registry) are public. Tenant-owned tables live in the private [`tenant`]
//! module: service code sees only their columns and reaches the rows through a
//! [`Tenant`](super::Tenant) scope, which filters by organization — so an
//! unscoped query on them does not compile outside `db`.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        email_verified -> Bool,
        password_hash -> Nullable<Text>,
        display_name -> Text,
        last_org_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    organizations (id) {
        id -> Text,
        name -> Text,
        slug -> Text,
        login_policy -> Text,
        max_file_size -> BigInt,
        storage_quota -> BigInt,
        audit_seq -> BigInt,
        audit_head -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
        storage_used -> BigInt,
        storage_stored -> BigInt,
        require_mfa -> Bool,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        org_id -> Nullable<Text>,
        created_at -> Timestamp,
        last_active_at -> Timestamp,
        idle_expires_at -> Timestamp,
        absolute_expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoke_reason -> Nullable<Text>,
        user_agent -> Text,
        client_ip -> Text,
        auth_method -> Text,
        pin_generation -> BigInt,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        spent_at -> Nullable<Timestamp>,
        successor_hash -> Nullable<Text>,
    }
}

diesel::table! {
    login_throttle (subject) {
        subject -> Text,
        failures -> BigInt,
        last_failure_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    password_resets (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        email -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    passkeys (id) {
        id -> Text,
        user_id -> Text,
        user_handle -> Text,
        credential_id -> Text,
        name -> Text,
        credential -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    passkey_ceremonies (token_hash) {
        token_hash -> Text,
        purpose -> Text,
        user_id -> Nullable<Text>,
        state -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    rate_windows (subject) {
        subject -> Text,
        window_start -> Timestamp,
        hits -> BigInt,
    }
}

diesel::table! {
    totp_factors (user_id) {
        user_id -> Text,
        key_id -> Text,
        sealed_secret -> Binary,
        confirmed_at -> Nullable<Timestamp>,
        last_used_step -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    recovery_codes (code_hash) {
        code_hash -> Text,
        user_id -> Text,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    mfa_challenges (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        requested_org_id -> Nullable<Text>,
        failures -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        passkey_state -> Nullable<Text>,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> Text,
        recipient -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    email_verifications (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        email -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    jobs (id) {
        id -> Text,
        kind -> Text,
        org_id -> Nullable<Text>,
        target -> Text,
        run_at -> Timestamp,
        attempts -> BigInt,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    service_credentials (id) {
        id -> Text,
        service_account_id -> Text,
        org_id -> Text,
        kind -> Text,
        algorithm -> Nullable<Text>,
        public_key_pem -> Nullable<Text>,
        generated -> Bool,
        secret_hash -> Nullable<Text>,
        secret_prefix -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    assertion_jtis (jti_hash) {
        jti_hash -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    personal_access_tokens (id) {
        id -> Text,
        user_id -> Text,
        org_id -> Text,
        name -> Text,
        role -> Text,
        token_hash -> Text,
        token_prefix -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(personal_access_tokens -> users (user_id));

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(email_verifications -> users (user_id));
diesel::joinable!(password_resets -> users (user_id));

pub(in crate::db) mod tenant {
    use super::{
        assertion_jtis, email_verifications, jobs, login_throttle, mail_outbox, mfa_challenges,
        organizations, passkey_ceremonies, passkeys, password_resets, personal_access_tokens,
        rate_windows, recovery_codes, refresh_tokens, service_credentials, sessions, totp_factors,
        users,
    };

    diesel::table! {
        service_accounts (id) {
            id -> Text,
            org_id -> Text,
            name -> Text,
            description -> Text,
            role -> Text,
            disabled_at -> Nullable<Timestamp>,
            certificate_sha256 -> Nullable<Text>,
            created_at -> Timestamp,
            updated_at -> Timestamp,
        }
    }

    diesel::table! {
        memberships (org_id, user_id) {
            org_id -> Text,
            user_id -> Text,
            role -> Text,
            created_at -> Timestamp,
            updated_at -> Timestamp,
        }
    }

    diesel::table! {
        invitations (id) {
            id -> Text,
            org_id -> Text,
            email -> Text,
            role -> Text,
            token_hash -> Text,
            inviter_id -> Text,
            created_at -> Timestamp,
            expires_at -> Timestamp,
            accepted_at -> Nullable<Timestamp>,
            accepted_by -> Nullable<Text>,
            revoked_at -> Nullable<Timestamp>,
        }
    }

    diesel::table! {
        audit_events (id) {
            id -> Text,
            org_id -> Text,
            seq -> BigInt,
            occurred_at -> Timestamp,
            actor_type -> Text,
            actor_id -> Text,
            action -> Text,
            target_type -> Text,
            target_id -> Text,
            outcome -> Text,
            request_id -> Text,
            client_ip -> Text,
            user_agent -> Text,
            details -> Text,
            prev_hash -> Text,
            hash -> Text,
        }
    }

    diesel::table! {
        blobs (org_id, sha256) {
            org_id -> Text,
            sha256 -> Text,
            size -> BigInt,
            storage_key -> Text,
            ref_count -> BigInt,
            created_at -> Timestamp,
        }
    }

    diesel::table! {
        files (id) {
            id -> Text,
            org_id -> Text,
            name -> Text,
            declared_content_type -> Text,
            detected_content_type -> Text,
            size -> BigInt,
            sha256 -> Text,
            uploader_id -> Text,
            created_at -> Timestamp,
            updated_at -> Timestamp,
            deleted_at -> Nullable<Timestamp>,
        }
    }

    diesel::table! {
        file_labels (file_id, key) {
            org_id -> Text,
            file_id -> Text,
            key -> Text,
            value -> Text,
        }
    }

    diesel::table! {
        upload_sessions (id) {
            id -> Text,
            org_id -> Text,
            uploader_id -> Text,
            name -> Text,
            content_type -> Text,
            expected_size -> Nullable<BigInt>,
            expected_sha256 -> Nullable<Text>,
            labels -> Text,
            received -> BigInt,
            created_at -> Timestamp,
            updated_at -> Timestamp,
            expires_at -> Timestamp,
        }
    }

    diesel::table! {
        upload_parts (session_id, start_offset) {
            org_id -> Text,
            session_id -> Text,
            start_offset -> BigInt,
            size -> BigInt,
            storage_key -> Text,
        }
    }

    diesel::table! {
        sso_configs (org_id) {
            org_id -> Text,
            issuer_url -> Text,
            client_id -> Text,
            secret_key_id -> Nullable<Text>,
            secret_sealed -> Nullable<Text>,
            settings -> Text,
            enabled -> Bool,
            created_at -> Timestamp,
            updated_at -> Timestamp,
        }
    }

    diesel::table! {
        sso_login_states (state_hash) {
            state_hash -> Text,
            org_id -> Text,
            redirect_uri -> Text,
            created_at -> Timestamp,
            expires_at -> Timestamp,
            used_at -> Nullable<Timestamp>,
        }
    }

    diesel::table! {
        sso_domains (org_id, domain) {
            org_id -> Text,
            domain -> Text,
            token -> Text,
            created_at -> Timestamp,
            verified_at -> Nullable<Timestamp>,
        }
    }

    diesel::table! {
        sso_link_requests (id) {
            id -> Text,
            org_id -> Text,
            user_id -> Text,
            issuer -> Text,
            person -> Text,
            link_token_hash -> Text,
            email_token_hash -> Text,
            created_at -> Timestamp,
            expires_at -> Timestamp,
            used_at -> Nullable<Timestamp>,
        }
    }

    diesel::table! {
        sso_identities (id) {
            id -> Text,
            org_id -> Text,
            issuer -> Text,
            subject -> Text,
            user_id -> Text,
            email -> Text,
            created_at -> Timestamp,
            last_login_at -> Timestamp,
        }
    }

    diesel::joinable!(sso_identities -> users (user_id));
    diesel::joinable!(file_labels -> files (file_id));
    diesel::joinable!(upload_parts -> upload_sessions (session_id));
    diesel::joinable!(memberships -> users (user_id));
    diesel::joinable!(memberships -> organizations (org_id));
    diesel::joinable!(service_credentials -> service_accounts (service_account_id));

    diesel::allow_tables_to_appear_in_same_query!(
        users,
        organizations,
        sessions,
        refresh_tokens,
        login_throttle,
        email_verifications,
        password_resets,
        rate_windows,
        mail_outbox,
        totp_factors,
        recovery_codes,
        mfa_challenges,
        passkeys,
        passkey_ceremonies,
        jobs,
        memberships,
        invitations,
        audit_events,
        blobs,
        files,
        file_labels,
        upload_sessions,
        upload_parts,
        sso_configs,
        sso_login_states,
        sso_link_requests,
        sso_domains,
        sso_identities,
        service_accounts,
        service_credentials,
        assertion_jtis,
        personal_access_tokens,
    );
}

/// Columns of the tenant-owned `service_accounts` table.
pub mod service_accounts {
    pub use super::tenant::service_accounts::columns::*;
}

/// Columns of the tenant-owned `memberships` table.
pub mod memberships {
    pub use super::tenant::memberships::columns::*;
}

/// Columns of the tenant-owned `invitations` table.
pub mod invitations {
    pub use super::tenant::invitations::columns::*;
}

/// Columns of the tenant-owned `audit_events` table.
pub mod audit_events {
    pub use super::tenant::audit_events::columns::*;
}

/// Columns of the tenant-owned `blobs` table.
pub mod blobs {
    pub use super::tenant::blobs::columns::*;
}

/// Columns of the tenant-owned `files` table.
pub mod files {
    pub use super::tenant::files::columns::*;
}

/// Columns of the tenant-owned `file_labels` table.
pub mod file_labels {
    pub use super::tenant::file_labels::columns::*;
}

/// Columns of the tenant-owned `upload_sessions` table.
pub mod upload_sessions {
    pub use super::tenant::upload_sessions::columns::*;
}

/// Columns of the tenant-owned `upload_parts` table.
pub mod upload_parts {
    pub use super::tenant::upload_parts::columns::*;
}

/// Columns of the tenant-owned `sso_configs` table.
pub mod sso_configs {
    pub use super::tenant::sso_configs::columns::*;
}

/// Columns of the tenant-owned `sso_login_states` table.
pub mod sso_login_states {
    pub use super::tenant::sso_login_states::columns::*;
}

/// Columns of the tenant-owned `sso_domains` table.
pub mod sso_domains {
    pub use super::tenant::sso_domains::columns::*;
}

/// Columns of the tenant-owned `sso_link_requests` table.
pub mod sso_link_requests {
    pub use super::tenant::sso_link_requests::columns::*;
}

/// Columns of the tenant-owned `sso_identities` table.
pub mod sso_identities {
    pub use super::tenant::sso_identities::columns::*;
}
