//! Service accounts as an organization's admin manages them, and what their
//! tokens may do.

use tenantry_client::{
    audit::v1::{ActorType, AuditEventFilter, ListAuditEventsRequest},
    auth::v1::Role,
    file::v1::{GetFileRequest, ListFilesRequest},
    serviceaccount::v1::{
        CreateServiceAccountRequest, DeleteServiceAccountRequest, DisableServiceAccountRequest,
        EnableServiceAccountRequest, GetServiceAccountRequest, ListServiceAccountSecretsRequest,
        ListServiceAccountsRequest, RevokeServiceAccountSecretRequest, UpdateServiceAccountRequest,
    },
};
use tenantry_tests::{Backend, TestApp, assert_code, field_violations, on_both_backends};
use tonic::Code;

fn list_files() -> ListFilesRequest {
    ListFilesRequest::default()
}

async fn an_admin_manages_service_accounts_and_every_change_is_audited(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let robot = app.service(&team.admin, "robot", Role::Member).await;
    app.service(&team.admin, "backup", Role::Viewer).await;
    let accounts = team.admin.client.service_accounts();

    let got = accounts
        .clone()
        .get_service_account(GetServiceAccountRequest {
            service_account_id: robot.account.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .service_account
        .unwrap();
    assert_eq!(
        (got.name.as_str(), got.role),
        ("robot", Role::Member as i32)
    );
    assert!(!got.disabled);

    let first = accounts
        .clone()
        .list_service_accounts(ListServiceAccountsRequest {
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.service_accounts[0].name, "robot");
    let second = accounts
        .clone()
        .list_service_accounts(ListServiceAccountsRequest {
            page_size: 1,
            page_token: first.next_page_token,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.service_accounts[0].name, "backup");
    assert!(second.next_page_token.is_empty());

    let updated = accounts
        .clone()
        .update_service_account(UpdateServiceAccountRequest {
            service_account_id: robot.account.id.clone(),
            name: Some("robot-2".into()),
            description: None,
            role: Some(Role::Viewer as i32),
            client_certificate_pem: None,
        })
        .await
        .unwrap()
        .into_inner()
        .service_account
        .unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.role),
        ("robot-2", Role::Viewer as i32)
    );
    assert_eq!(
        updated.description, "robot, made by a test",
        "unset fields stay"
    );

    let events = team
        .admin
        .client
        .audit()
        .list_audit_events(ListAuditEventsRequest {
            filter: Some(AuditEventFilter {
                action_prefix: "service_account.".into(),
                ..AuditEventFilter::default()
            }),
            ..ListAuditEventsRequest::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "service_account.created",
        "service_account.secret.added",
        "service_account.updated",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert!(events.iter().all(|e| e.actor_id == team.admin.id));
    assert!(
        !events.iter().any(|e| e.details_json.contains("tnt_cs_")),
        "no secret in the log"
    );
}

async fn roles_of_service_accounts_stop_below_owner_and_the_makers_own(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let create = |role: Role, name: &str| CreateServiceAccountRequest {
        name: name.into(),
        role: role as i32,
        ..CreateServiceAccountRequest::default()
    };
    let owner_role = team
        .owner
        .client
        .service_accounts()
        .create_service_account(create(Role::Owner, "boss"))
        .await;
    let status = assert_code(owner_role, Code::InvalidArgument);
    assert_eq!(field_violations(&status), ["role"]);
    let blank = team
        .owner
        .client
        .service_accounts()
        .create_service_account(create(Role::Viewer, "  "))
        .await;
    assert_eq!(
        field_violations(&assert_code(blank, Code::InvalidArgument)),
        ["name"]
    );
    let by_member = team
        .member
        .client
        .service_accounts()
        .create_service_account(create(Role::Viewer, "sneaky"))
        .await;
    assert_code(by_member, Code::PermissionDenied);
}

async fn disabling_or_deleting_an_account_refuses_its_tokens(backend: Backend) {
    let mut app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let robot = app.service(&team.admin, "robot", Role::Viewer).await;
    let other = app.start_instance().await;
    let elsewhere = app
        .client_of(other)
        .await
        .with_token(robot.client.access_token().await.unwrap().unwrap());
    elsewhere.files().list_files(list_files()).await.unwrap();
    let id = robot.account.id.clone();
    let accounts = team.admin.client.service_accounts();

    accounts
        .clone()
        .disable_service_account(DisableServiceAccountRequest {
            service_account_id: id.clone(),
        })
        .await
        .unwrap();
    let here = robot.client.files().list_files(list_files()).await;
    assert_code(here, Code::Unauthenticated);
    // The other instance sees it within its cache's second.
    app.advance(chrono::Duration::seconds(1));
    assert_code(
        elsewhere.files().list_files(list_files()).await,
        Code::Unauthenticated,
    );
    let exchange = app.exchange_secret(&id, &robot.client_secret).await;
    assert_code(exchange, Code::Unauthenticated);

    accounts
        .clone()
        .enable_service_account(EnableServiceAccountRequest {
            service_account_id: id.clone(),
        })
        .await
        .unwrap();
    let token = app
        .exchange_secret(&id, &robot.client_secret)
        .await
        .unwrap();
    let fresh = robot.client.with_token(token.access_token);
    fresh.files().list_files(list_files()).await.unwrap();

    accounts
        .clone()
        .delete_service_account(DeleteServiceAccountRequest {
            service_account_id: id.clone(),
        })
        .await
        .unwrap();
    assert_code(
        fresh.files().list_files(list_files()).await,
        Code::Unauthenticated,
    );
    let gone = accounts
        .clone()
        .get_service_account(GetServiceAccountRequest {
            service_account_id: id.clone(),
        })
        .await;
    assert_code(gone, Code::NotFound);
    assert_code(
        app.exchange_secret(&id, &robot.client_secret).await,
        Code::Unauthenticated,
    );
}

async fn a_revoked_secret_no_longer_exchanges_and_its_tokens_stop(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let robot = app.service(&team.admin, "robot", Role::Viewer).await;
    let accounts = team.admin.client.service_accounts();
    let secrets = accounts
        .clone()
        .list_service_account_secrets(ListServiceAccountSecretsRequest {
            service_account_id: robot.account.id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .secrets;
    assert_eq!(secrets.len(), 1);
    let times = secrets[0].times.unwrap();
    assert!(times.last_use_time.is_some(), "the exchange was recorded");
    assert!(robot.client_secret.starts_with(&secrets[0].prefix));
    assert!(secrets[0].prefix.len() < robot.client_secret.len() / 2);
    accounts
        .clone()
        .revoke_service_account_secret(RevokeServiceAccountSecretRequest {
            service_account_id: robot.account.id.clone(),
            secret_id: secrets[0].id.clone(),
        })
        .await
        .unwrap();
    assert_code(
        robot.client.files().list_files(list_files()).await,
        Code::Unauthenticated,
    );
    let exchange = app
        .exchange_secret(&robot.account.id, &robot.client_secret)
        .await;
    assert_code(exchange, Code::Unauthenticated);
}

async fn a_service_acts_in_its_organization_only(backend: Backend) {
    let app = TestApp::start(backend).await;
    let acme = app.team("acme").await;
    let globex = app.team("globex").await;
    let robot = app.service(&acme.admin, "robot", Role::Member).await;
    let theirs = globex.owner.upload("plans.txt", b"secret plans").await;
    let ours = robot_upload(&robot).await;

    let foreign = robot
        .client
        .files()
        .get_file(GetFileRequest {
            file_id: theirs.file.unwrap().id,
        })
        .await;
    assert_code(foreign, Code::NotFound);
    let listed = robot
        .client
        .files()
        .list_files(list_files())
        .await
        .unwrap()
        .into_inner()
        .files;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, ours);

    let other_admin = globex
        .owner
        .client
        .service_accounts()
        .get_service_account(GetServiceAccountRequest {
            service_account_id: robot.account.id.clone(),
        })
        .await;
    assert_code(other_admin, Code::NotFound);

    let events = acme
        .admin
        .client
        .audit()
        .list_audit_events(ListAuditEventsRequest {
            filter: Some(AuditEventFilter {
                action_prefix: "file.uploaded".into(),
                ..AuditEventFilter::default()
            }),
            ..ListAuditEventsRequest::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor_type, ActorType::ServiceAccount as i32);
    assert_eq!(events[0].actor_id, robot.account.id);
}

/// Uploads a small file as the service; its id.
async fn robot_upload(robot: &tenantry_tests::TestService) -> String {
    let metadata = tenantry_tests::file_metadata("report.csv");
    let chunks = tenantry_tests::chunks(b"a,b\n1,2\n", 1024);
    let uploaded = tenantry_tests::upload_with(&robot.client, metadata, chunks).await;
    uploaded.unwrap().file.unwrap().id
}

on_both_backends!(
    an_admin_manages_service_accounts_and_every_change_is_audited,
    roles_of_service_accounts_stop_below_owner_and_the_makers_own,
    disabling_or_deleting_an_account_refuses_its_tokens,
    a_revoked_secret_no_longer_exchanges_and_its_tokens_stop,
    a_service_acts_in_its_organization_only,
);
