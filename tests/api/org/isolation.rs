//! Tenant isolation: another organization's ids answer exactly like ids that
//! do not exist, and on PostgreSQL row-level security holds even when the
//! operator's URL names a superuser.

use tenantry_client::{
    audit::v1::{AuditEventFilter, ListAuditEventsRequest},
    auth::v1::{LoginRequest, Role},
    org::v1::{
        RemoveMemberRequest, RevokeInvitationRequest, SwitchOrganizationRequest,
        UpdateMemberRoleRequest,
    },
};
use tenantry_tests::{Backend, PASSWORD, TestApp, assert_code, on_both_backends};
use tonic::Code;

async fn foreign_ids_look_exactly_like_missing_ones(backend: Backend) {
    let app = TestApp::start(backend).await;
    let a = app.team("acme").await;
    let b = app.team("globex").await;
    b.owner.invite("pending@example.com", Role::Viewer).await;
    let b_invitation = b
        .owner
        .client
        .org()
        .list_invitations(tenantry_client::org::v1::ListInvitationsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .invitations[0]
        .id
        .clone();
    let random = || uuid::Uuid::now_v7().to_string();
    let org = a.owner.client.org();
    for (foreign, missing) in [
        (b.member.id.clone(), random()),
        (b.owner.id.clone(), random()),
    ] {
        let mut messages = Vec::new();
        for user_id in [foreign, missing] {
            let role = UpdateMemberRoleRequest {
                user_id: user_id.clone(),
                role: Role::Viewer as i32,
            };
            let s1 = assert_code(org.clone().update_member_role(role).await, Code::NotFound);
            let s2 = assert_code(
                org.clone()
                    .remove_member(RemoveMemberRequest { user_id })
                    .await,
                Code::NotFound,
            );
            messages.push((s1.message().to_owned(), s2.message().to_owned()));
        }
        assert_eq!(
            messages[0], messages[1],
            "foreign and missing ids answer alike"
        );
    }
    let mut messages = Vec::new();
    for invitation_id in [b_invitation, random()] {
        let status = assert_code(
            org.clone()
                .revoke_invitation(RevokeInvitationRequest { invitation_id })
                .await,
            Code::NotFound,
        );
        messages.push(status.message().to_owned());
    }
    assert_eq!(messages[0], messages[1]);
    // Switching into, or signing in pinned to, an organization one is not in.
    let mut messages = Vec::new();
    for organization_id in [b.org.id.clone(), random()] {
        let switch = SwitchOrganizationRequest {
            organization_id: organization_id.clone(),
        };
        let s1 = assert_code(
            org.clone().switch_organization(switch).await,
            Code::NotFound,
        );
        let login = LoginRequest {
            email: a.member.email.clone(),
            password: PASSWORD.into(),
            organization_id,
        };
        let s2 = assert_code(app.client().await.auth().login(login).await, Code::NotFound);
        messages.push((s1.message().to_owned(), s2.message().to_owned()));
    }
    assert_eq!(messages[0], messages[1]);
    // The audit log answers only for its own organization.
    let filter = ListAuditEventsRequest {
        filter: Some(AuditEventFilter {
            actor_id: b.owner.id.clone(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let events = a
        .owner
        .client
        .audit()
        .list_audit_events(filter)
        .await
        .unwrap()
        .into_inner()
        .events;
    assert!(events.is_empty(), "no event of another organization");
}

on_both_backends!(foreign_ids_look_exactly_like_missing_ones);

/// Reads keep a scope's settings on their connection: on one query worker
/// and one connection (so each step runs where the one before left its
/// settings), under a superuser URL, no later read or write sees them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_settings_never_reach_another_scope() {
    use diesel::RunQueryDsl as _;
    use tenantry_server::db::{Db, TenantScope};

    tenantry_tests::require_postgres();
    let app = TestApp::start(Backend::Postgres).await;
    let a = app.team("acme").await;
    let b = app.team("globex").await;
    let db = Db::open(&app.database_url(), 1, 1).unwrap();
    let nothing: [String; 0] = [];
    let only_b = std::slice::from_ref(&b.org.id);
    // A's scope, then no scope: nothing.
    assert_eq!(
        visible(&db, Some(&a.org.id)).await,
        std::slice::from_ref(&a.org.id)
    );
    assert_eq!(visible(&db, None).await, nothing);
    // B's scope after A's on the same connection: B's rows only.
    assert_eq!(visible(&db, Some(&b.org.id)).await, only_b);
    // A read that fails inside A's scope, then one without a scope: nothing.
    let a_id = a.org.id.clone();
    let failed = db
        .read(move |tx| {
            drop(tx.tenant(&TenantScope::verified(&a_id))?);
            diesel::sql_query("SELECT no_such_column FROM memberships").execute(tx.conn())?;
            Ok(())
        })
        .await;
    assert!(failed.is_err());
    assert_eq!(visible(&db, None).await, nothing);
    // A write without a scope, after a read kept B's settings: nothing.
    assert_eq!(visible(&db, Some(&b.org.id)).await, only_b);
    let in_write = db
        .write(|tx| {
            let count: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "(SELECT count(*) FROM memberships)",
            ))
            .get_result(tx.conn())?;
            Ok(count)
        })
        .await
        .unwrap();
    assert_eq!(in_write, 0);
    // And the write's scope ended with it.
    assert_eq!(visible(&db, None).await, nothing);
}

/// The organizations whose memberships, invitations or audit events a read
/// sees in `org`'s scope (none: no scope).
async fn visible(db: &tenantry_server::db::Db, org: Option<&str>) -> Vec<String> {
    use diesel::{QueryableByName, RunQueryDsl as _, sql_types::Text};
    use tenantry_server::db::TenantScope;

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = Text)]
        value: String,
    }
    let org = org.map(str::to_owned);
    db.read(move |tx| {
        if let Some(org) = org {
            drop(tx.tenant(&TenantScope::verified(org))?);
        }
        let rows: Vec<Count> = diesel::sql_query(
            "SELECT org_id AS value FROM memberships UNION SELECT org_id FROM invitations \
             UNION SELECT org_id FROM audit_events",
        )
        .load(tx.conn())?;
        Ok(rows.into_iter().map(|r| r.value).collect())
    })
    .await
    .unwrap()
}

/// Reaches under the API on purpose: raw SQL on the server's own pooled
/// connections, opened with a superuser URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_level_security_holds_under_a_superuser_url() {
    use diesel::{QueryableByName, RunQueryDsl as _, sql_types::Text};
    use tenantry_server::db::{Db, TenantScope};

    #[derive(QueryableByName, Debug)]
    struct Row {
        #[diesel(sql_type = Text)]
        value: String,
    }

    tenantry_tests::require_postgres();
    let app = TestApp::start(Backend::Postgres).await;
    assert!(
        app.database_url().starts_with("postgres://postgres@"),
        "a superuser URL"
    );
    let a = app.team("acme").await;
    let b = app.team("globex").await;
    b.owner.invite("pending@example.com", Role::Viewer).await;
    let db = Db::open(&app.database_url(), 1, 1).unwrap();
    let (a_id, b_id) = (a.org.id.clone(), b.org.id.clone());

    let seen = db
        .read(move |tx| {
            let who: Vec<Row> =
                diesel::sql_query("SELECT current_user::text AS value").load(tx.conn())?;
            drop(tx.tenant(&TenantScope::verified(&a_id))?);
            let mut seen = vec![who[0].value.clone()];
            for table in ["memberships", "invitations", "audit_events"] {
                let rows: Vec<Row> =
                    diesel::sql_query(format!("SELECT DISTINCT org_id AS value FROM {table}"))
                        .load(tx.conn())?;
                seen.push(format!(
                    "{table}:{}",
                    rows.iter()
                        .map(|r| r.value.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                ));
            }
            Ok(seen)
        })
        .await
        .unwrap();
    let a_id = a.org.id.clone();
    assert_eq!(
        seen,
        vec![
            "tenantry_app".to_owned(),
            format!("memberships:{a_id}"),
            format!("invitations:{a_id}"),
            format!("audit_events:{a_id}"),
        ]
    );

    // Without any scope, nothing at all (right after A's read, on the same
    // connection).
    let nothing: [String; 0] = [];
    assert_eq!(visible(&db, None).await, nothing);

    // Writing another tenant's row from A's scope is refused.
    let a_id = a.org.id.clone();
    let outsider = a.member.id.clone();
    let refused = db
        .write(move |tx| {
            drop(tx.tenant(&TenantScope::verified(&a_id))?);
            let result = diesel::sql_query(format!(
                "INSERT INTO memberships (org_id, user_id, role, created_at, updated_at) \
                 VALUES ('{b_id}', '{outsider}', 'owner', now(), now())"
            ))
            .execute(tx.conn());
            Ok(result.map_err(|e| e.to_string()))
        })
        .await
        .unwrap();
    let err = refused.expect_err("cross-tenant insert must fail");
    assert!(err.contains("row-level security"), "{err}");
}
