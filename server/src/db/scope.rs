//! Who a transaction acts for. Tenant-owned rows are reachable only through a
//! [`Tenant`] handle, made from a [`TenantScope`]; on PostgreSQL entering a
//! scope also sets the row-level-security settings (for the rest of the
//! transaction, or kept by a read's connection), so the database enforces
//! the same rule a second time.

use diesel::{
    BoolExpressionMethods as _, ExpressionMethods as _, JoinOnDsl as _, OptionalExtension as _,
    QueryDsl as _, RunQueryDsl as _,
    dsl::{And, Eq, Filter, LeftJoinOn},
    query_builder::IncompleteInsertStatement,
};

use super::{
    connection::AnyConnection,
    schema::tenant,
    settings::{self, Settings},
};
use crate::access::Role;
use crate::{
    context::Caller,
    error::{ApiError, ApiResult},
    ids::{OrgId, UserId},
};

/// The organization whose rows a piece of work may touch.
///
/// Made from a verified [`Caller`] — or, in the few places where the
/// tenant is named by something the server itself verified (an invitation
/// token, an SSO state, a background job, an organization being created), by
/// [`TenantScope::verified`], whose callers say why in a comment.
#[derive(Debug, Clone)]
pub struct TenantScope {
    org_id: OrgId,
    user_id: Option<UserId>,
}

/// The organization of account events that belong to no organization.
pub const ACCOUNT_EVENTS_ORG: &str = "00000000-0000-0000-0000-000000000000";

impl TenantScope {
    /// The organization a verified caller's token is pinned to (only
    /// [`Caller::tenant`] makes these).
    pub(crate) fn of_caller(org_id: &OrgId, user_id: &UserId) -> Self {
        Self {
            org_id: org_id.clone(),
            user_id: Some(user_id.clone()),
        }
    }

    /// An organization named by a capability the server verified itself.
    pub fn verified(org_id: impl Into<String>) -> Self {
        Self {
            org_id: OrgId::trusted(org_id),
            user_id: None,
        }
    }

    /// The chain of account events (sign-ups, failed sign-ins, …).
    pub fn account_events() -> Self {
        Self::verified(ACCOUNT_EVENTS_ORG)
    }

    pub fn org_id(&self) -> &OrgId {
        &self.org_id
    }
}

/// A signed-in user reading their own rows across organizations (their
/// memberships) and nothing else.
#[derive(Debug, Clone)]
pub struct UserScope {
    user_id: String,
}

impl UserScope {
    pub fn from_auth(caller: &Caller) -> Self {
        Self {
            user_id: caller.user_id().to_string(),
        }
    }

    /// A user whose credentials the server just verified (sign-in).
    pub fn verified(user_id: impl Into<String>) -> Self {
        Self {
            user_id: user_id.into(),
        }
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }
}

/// A transaction in progress — or a PostgreSQL read, which runs without
/// one and keeps its connection's settings between reads (see `settings`).
pub struct Tx<'c> {
    pub(super) conn: &'c mut AnyConnection,
    /// A PostgreSQL read's kept settings; `None` in a transaction (whose
    /// settings are its own) and on SQLite (which has none).
    pub(super) kept: Option<&'c mut Settings>,
    /// Whether a scope was entered.
    pub(super) scoped: bool,
    /// A failure to make a read's settings (to enter a scope, or to clear
    /// them before an unscoped statement): the read answers it, whatever its
    /// statements returned.
    pub(super) failed: Option<ApiError>,
}

impl Tx<'_> {
    /// The connection, for tables that belong to no tenant (see `schema`).
    /// Before a scope is entered, statements on it run with no tenant's
    /// settings.
    pub fn conn(&mut self) -> &mut AnyConnection {
        if let Some(kept) = self.kept.as_deref_mut()
            && !self.scoped
            && let Err(err) = settings::keep(self.conn, kept, None, None)
        {
            self.failed.get_or_insert(err);
        }
        self.conn
    }

    /// The connection as it is, for a statement that makes its own
    /// settings and restores the caller's (a SQL function with `SET`
    /// clauses, such as the liveness check).
    pub(crate) fn conn_for_own_settings(&mut self) -> &mut AnyConnection {
        self.conn
    }

    /// Acts for one organization for the rest of the transaction or read
    /// (until the next call of `tenant` or `user`).
    pub fn tenant(&mut self, scope: &TenantScope) -> ApiResult<Tenant<'_>> {
        self.enter(Some(&scope.org_id), scope.user_id.as_deref())?;
        Ok(Tenant {
            conn: self.conn,
            org_id: scope.org_id.to_string(),
        })
    }

    /// Acts for one user's own rows for the rest of the transaction or read.
    pub fn user(&mut self, scope: &UserScope) -> ApiResult<OwnRows<'_>> {
        self.enter(None, Some(&scope.user_id))?;
        Ok(OwnRows {
            conn: self.conn,
            user_id: scope.user_id.clone(),
        })
    }

    /// Sets the row-level-security settings: kept on the connection for a
    /// read, for the transaction alone in a write.
    /// A read whose settings could not be made answers that failure even if
    /// `f` goes on after it.
    fn enter(&mut self, org: Option<&str>, user: Option<&str>) -> ApiResult<()> {
        self.scoped = true;
        let Some(kept) = self.kept.as_deref_mut() else {
            return settings::local(self.conn, org, user);
        };
        let made = settings::keep(self.conn, kept, org, user);
        if made.is_err() {
            self.failed.get_or_insert_with(ApiError::database_gone);
        }
        made
    }
}

/// One organization's rows inside a transaction.
pub struct Tenant<'t> {
    conn: &'t mut AnyConnection,
    org_id: String,
}

macro_rules! scoped_tables {
    ($($table:ident, $insert:ident;)*) => {
        impl Tenant<'_> {
            $(
                #[doc = concat!("`", stringify!($table), "` rows of this organization.")]
                pub fn $table(&self) -> Filter<tenant::$table::table, Eq<tenant::$table::org_id, String>> {
                    tenant::$table::table.filter(tenant::$table::org_id.eq(self.org_id.clone()))
                }

                #[doc = concat!("An insert into `", stringify!($table), "` (rows carry `org_id()`).")]
                pub fn $insert(&self) -> IncompleteInsertStatement<tenant::$table::table> {
                    diesel::insert_into(tenant::$table::table)
                }
            )*
        }
    };
}

scoped_tables! {
    memberships, insert_memberships;
    invitations, insert_invitations;
    audit_events, insert_audit_events;
    blobs, insert_blobs;
    files, insert_files;
    file_labels, insert_file_labels;
    upload_sessions, insert_upload_sessions;
    upload_parts, insert_upload_parts;
    sso_configs, insert_sso_configs;
    sso_login_states, insert_sso_login_states;
    sso_link_requests, insert_sso_link_requests;
    sso_domains, insert_sso_domains;
    sso_identities, insert_sso_identities;
    service_accounts, insert_service_accounts;
}

/// A boxed select of `files` rows, for queries that add their filters one by
/// one (ListFiles); it starts from [`Tenant::files`], so it stays scoped.
pub type BoxedFiles<'a> = tenant::files::BoxedQuery<
    'a,
    <AnyConnection as diesel::Connection>::Backend,
    diesel::dsl::SqlTypeOf<
        diesel::dsl::AsSelect<super::rows::FileRow, <AnyConnection as diesel::Connection>::Backend>,
    >,
>;

impl Tenant<'_> {
    /// A member's current role in this organization; `None` for a
    /// non-member, an error for a role the server does not know.
    pub fn member_role(&mut self, user_id: &str) -> ApiResult<Option<Role>> {
        let role: Option<String> = self
            .memberships()
            .filter(tenant::memberships::user_id.eq(user_id))
            .select(tenant::memberships::role)
            .first(self.conn())
            .optional()?;
        Ok(role.as_deref().map(Role::from_stored).transpose()?)
    }
}

/// `files` of one organization left-joined with their `file_labels`.
type FilesWithLabels = Filter<
    LeftJoinOn<
        tenant::files::table,
        tenant::file_labels::table,
        And<
            Eq<tenant::file_labels::file_id, tenant::files::id>,
            Eq<tenant::file_labels::org_id, tenant::files::org_id>,
        >,
    >,
    Eq<tenant::files::org_id, String>,
>;

impl Tenant<'_> {
    /// This organization's files, each joined with its labels (a file
    /// without labels comes once, with none): a file and its labels in one
    /// round trip.
    pub fn files_with_labels(&self) -> FilesWithLabels {
        use tenant::{file_labels, files};
        files::table
            .left_join(
                file_labels::table.on(file_labels::file_id
                    .eq(files::id)
                    .and(file_labels::org_id.eq(files::org_id))),
            )
            .filter(files::org_id.eq(self.org_id.clone()))
    }

    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    pub fn conn(&mut self) -> &mut AnyConnection {
        self.conn
    }
}

/// One user's own rows across organizations, inside a transaction.
pub struct OwnRows<'t> {
    conn: &'t mut AnyConnection,
    user_id: String,
}

impl OwnRows<'_> {
    /// The user's memberships in every organization.
    pub fn memberships(
        &self,
    ) -> Filter<tenant::memberships::table, Eq<tenant::memberships::user_id, String>> {
        tenant::memberships::table.filter(tenant::memberships::user_id.eq(self.user_id.clone()))
    }

    /// The user's linked SSO identities in every organization.
    pub fn sso_identities(
        &self,
    ) -> Filter<tenant::sso_identities::table, Eq<tenant::sso_identities::user_id, String>> {
        tenant::sso_identities::table
            .filter(tenant::sso_identities::user_id.eq(self.user_id.clone()))
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    pub fn conn(&mut self) -> &mut AnyConnection {
        self.conn
    }
}
