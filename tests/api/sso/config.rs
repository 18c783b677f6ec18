//! The SSO configuration: validated, audited, and its client secret
//! write-only (never returned, stored only encrypted).

use tenantry_client::{
    audit::v1::{AuditEventFilter, ListAuditEventsRequest},
    auth::v1::Role,
    org::v1::LoginPolicy,
    sso::v1::{
        GetSsoConfigRequest, GroupRoleMapping, SsoConfig, TestSsoConfigRequest,
        UpsertSsoConfigRequest,
    },
};
use tenantry_server::db::TenantScope;
use tenantry_tests::{
    Backend, TestApp, assert_code, field_violations, oidc::CLIENT_SECRET, oidc_issuer,
    on_both_backends, sso_config,
};
use tonic::Code;

async fn the_client_secret_is_write_only(backend: Backend) {
    let issuer = oidc_issuer();
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    team.admin.set_up_sso(sso_config(&issuer)).await;
    let got = team
        .admin
        .client
        .sso()
        .get_sso_config(GetSsoConfigRequest {})
        .await
        .unwrap()
        .into_inner()
        .config
        .unwrap();
    assert!(got.client_secret_set);
    assert_eq!(
        (got.issuer_url.as_str(), got.client_id.as_str()),
        (issuer.as_str(), "tenantry")
    );
    // Saving without a secret keeps the stored one.
    let mut changed = got.clone();
    changed.scopes = vec!["email".into()];
    let request = UpsertSsoConfigRequest {
        config: Some(changed),
        client_secret: String::new(),
    };
    let saved = team
        .admin
        .client
        .sso()
        .upsert_sso_config(request)
        .await
        .unwrap()
        .into_inner()
        .config
        .unwrap();
    assert!(saved.client_secret_set);
    // ...but not for another provider or client: the secret would go to it.
    for (issuer_url, client_id) in [
        ("https://elsewhere.example.com".to_owned(), "tenantry"),
        (issuer.clone(), "another-client"),
    ] {
        let mut moved = saved.clone();
        moved.issuer_url = issuer_url;
        moved.client_id = client_id.into();
        let status = assert_code(
            team.admin
                .client
                .sso()
                .upsert_sso_config(UpsertSsoConfigRequest {
                    config: Some(moved),
                    client_secret: String::new(),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(field_violations(&status), vec!["client_secret"]);
    }
    // Nowhere in what the API returns or audits (reaching under: the row).
    let request = ListAuditEventsRequest {
        filter: Some(AuditEventFilter {
            action_prefix: "sso.config".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let events = team
        .admin
        .client
        .audit()
        .list_audit_events(request)
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(events.len(), 2);
    assert!(
        events
            .iter()
            .all(|e| !e.details_json.contains(CLIENT_SECRET))
    );
    assert!(!format!("{saved:?}").contains(CLIENT_SECRET));
    let org = team.org.id.clone();
    let row = app
        .state()
        .db
        .read(move |tx| {
            tenantry_server::sso::config::load(&mut tx.tenant(&TenantScope::verified(&org))?)
        })
        .await
        .unwrap()
        .unwrap();
    let sealed = row.secret_sealed.clone().unwrap();
    assert!(!sealed.contains(CLIENT_SECRET) && row.secret_key_id.is_some());
    assert_eq!(
        tenantry_server::sso::config::secret(app.state(), &row)
            .unwrap()
            .as_deref(),
        Some(CLIENT_SECRET)
    );
}

async fn bad_configurations_name_their_fields(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let mut bad = sso_config("not a url");
    bad.client_id = String::new();
    bad.redirect_uris = vec![];
    bad.provisioning
        .as_mut()
        .unwrap()
        .group_roles
        .push(GroupRoleMapping {
            group: "root".into(),
            role: Role::Owner as i32,
        });
    let status = assert_code(
        team.admin
            .client
            .sso()
            .upsert_sso_config(UpsertSsoConfigRequest {
                config: Some(bad),
                client_secret: "s".into(),
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(
        field_violations(&status),
        vec![
            "config.issuer_url",
            "config.client_id",
            "config.provisioning.group_roles",
            "config.redirect_uris"
        ]
    );
    // A first configuration needs its secret.
    let no_secret = UpsertSsoConfigRequest {
        config: Some(sso_config("https://idp.example.com")),
        client_secret: String::new(),
    };
    let status = assert_code(
        team.admin.client.sso().upsert_sso_config(no_secret).await,
        Code::InvalidArgument,
    );
    assert_eq!(field_violations(&status), vec!["client_secret"]);
    // Requiring SSO needs it set up first.
    let status = assert_code(
        team.owner.set_login_policy(LoginPolicy::Sso).await,
        Code::FailedPrecondition,
    );
    assert!(status.message().contains("single sign-on"));
    assert_code(
        team.admin
            .client
            .sso()
            .get_sso_config(GetSsoConfigRequest {})
            .await,
        Code::NotFound,
    );
}

async fn testing_the_configuration_runs_discovery(backend: Backend) {
    let issuer = oidc_issuer();
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    team.admin.set_up_sso(sso_config(&issuer)).await;
    let report = team
        .admin
        .client
        .sso()
        .test_sso_config(TestSsoConfigRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.issuer, issuer);
    assert_eq!(report.authorization_endpoint, format!("{issuer}/auth"));
    assert!(report.scopes_supported.contains(&"groups".to_owned()));
    // A provider that is down: a clear report, not an error.
    let down = SsoConfig {
        issuer_url: "http://127.0.0.1:9".into(),
        ..sso_config(&issuer)
    };
    team.admin
        .client
        .sso()
        .upsert_sso_config(UpsertSsoConfigRequest {
            config: Some(down),
            // Another issuer: the secret is given again.
            client_secret: CLIENT_SECRET.into(),
        })
        .await
        .unwrap();
    let report = team
        .admin
        .client
        .sso()
        .test_sso_config(TestSsoConfigRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(!report.ok);
    assert!(
        report.error.contains("http://127.0.0.1:9"),
        "{}",
        report.error
    );
}

/// Any admin chooses the issuer URL and the server fetches it: by default
/// only public addresses, by name or literally.
async fn issuers_on_private_networks_are_refused_by_default(backend: Backend) {
    let issuer = oidc_issuer();
    let app = TestApp::builder(backend)
        .configure(|c| c.sso_allow_private_networks = false)
        .start()
        .await;
    let team = app.team("acme").await;
    let port = issuer.rsplit(':').next().unwrap().to_owned();
    for issuer_url in [
        issuer.clone(),
        format!("http://localhost:{port}"),
        "http://169.254.169.254".to_owned(),
    ] {
        team.admin
            .client
            .sso()
            .upsert_sso_config(UpsertSsoConfigRequest {
                config: Some(SsoConfig {
                    issuer_url: issuer_url.clone(),
                    ..sso_config(&issuer)
                }),
                client_secret: CLIENT_SECRET.into(),
            })
            .await
            .unwrap();
        let report = team
            .admin
            .client
            .sso()
            .test_sso_config(TestSsoConfigRequest {})
            .await
            .unwrap()
            .into_inner();
        assert!(!report.ok, "{issuer_url}");
        assert!(
            report.error.contains("not a public address"),
            "{issuer_url}: {}",
            report.error
        );
    }
}

/// Every list an admin supplies is capped, and the cap is named.
async fn configuration_lists_are_capped(backend: Backend) {
    let issuer = oidc_issuer();
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    type Overfill = fn(&mut SsoConfig);
    let too_many: [(&str, Overfill); 2] = [
        ("config.redirect_uris", |c| {
            c.redirect_uris = (0..100_000)
                .map(|i| format!("https://app.example.com/cb/{i}"))
                .collect();
        }),
        ("config.scopes", |c| {
            c.scopes = (0..21).map(|i| format!("s{i}")).collect();
        }),
    ];
    for (field, overfill) in too_many {
        let mut config = sso_config(&issuer);
        overfill(&mut config);
        let request = UpsertSsoConfigRequest {
            config: Some(config),
            client_secret: CLIENT_SECRET.into(),
        };
        let status = assert_code(
            team.admin.client.sso().upsert_sso_config(request).await,
            Code::InvalidArgument,
        );
        assert_eq!(field_violations(&status), vec![field]);
    }
}

on_both_backends!(
    configuration_lists_are_capped,
    issuers_on_private_networks_are_refused_by_default,
    the_client_secret_is_write_only,
    bad_configurations_name_their_fields,
    testing_the_configuration_runs_discovery,
);
