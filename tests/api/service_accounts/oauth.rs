//! The OAuth 2.0 token endpoint, `POST /oauth/token`, driven by the `oauth2`
//! crate (a client nobody here wrote) and by hand for the error answers.

use oauth2::{
    AuthType, ClientId, ClientSecret, RequestTokenError, TokenResponse as _, TokenUrl,
    basic::{BasicClient, BasicErrorResponseType},
};
use serde_json::Value;
use tenantry_client::{
    auth::v1::Role, file::v1::ListFilesRequest, serviceaccount::v1::KeyAlgorithm,
};
use tenantry_tests::{Backend, TestApp, assertion_claims, on_both_backends, sign_assertion};

fn http() -> oauth2::reqwest::Client {
    oauth2::reqwest::ClientBuilder::new()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn token_url(app: &TestApp) -> String {
    format!("{}/oauth/token", app.url())
}

async fn a_standard_oauth_client_gets_tokens_with_client_credentials(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let robot = app.service(&team.admin, "robot", Role::Viewer).await;
    for auth_type in [AuthType::BasicAuth, AuthType::RequestBody] {
        let client = BasicClient::new(ClientId::new(robot.account.id.clone()))
            .set_client_secret(ClientSecret::new(robot.client_secret.clone()))
            .set_token_uri(TokenUrl::new(token_url(&app)).unwrap())
            .set_auth_type(auth_type.clone());
        let token = client
            .exchange_client_credentials()
            .request_async(&http())
            .await
            .unwrap_or_else(|e| panic!("{auth_type:?}: {e:?}"));
        assert_eq!(token.token_type(), &oauth2::basic::BasicTokenType::Bearer);
        let lifetime = token.expires_in().expect("expires_in");
        assert!(lifetime.as_secs() > 60, "{lifetime:?}");
        let caller = robot
            .client
            .with_token(token.access_token().secret().clone());
        caller
            .files()
            .list_files(ListFilesRequest::default())
            .await
            .unwrap();
    }
    let wrong = BasicClient::new(ClientId::new(robot.account.id.clone()))
        .set_client_secret(ClientSecret::new("tnt_cs_wrong".into()))
        .set_token_uri(TokenUrl::new(token_url(&app)).unwrap())
        .exchange_client_credentials()
        .request_async(&http())
        .await;
    match wrong {
        Err(RequestTokenError::ServerResponse(answer)) => {
            assert_eq!(answer.error(), &BasicErrorResponseType::InvalidClient);
        }
        other => panic!("expected invalid_client, got {other:?}"),
    }
}

/// Posts a form to the token endpoint: status, headers, JSON body.
async fn post(app: &TestApp, form: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, Value) {
    let answer = reqwest::Client::new()
        .post(token_url(app))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let headers = answer.headers().clone();
    (status, headers, answer.json().await.unwrap())
}

async fn the_jwt_bearer_grant_and_errors_follow_the_rfcs(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let robot = app.service(&team.admin, "robot", Role::Viewer).await;
    let key = app
        .generated_key(&team.admin, &robot.account.id, KeyAlgorithm::Ed25519)
        .await;
    let claims = assertion_claims(&key, &app.issuer(), app.now().timestamp());
    let assertion = sign_assertion(&key, &claims);
    let grant = ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer");
    let (status, headers, body) = post(&app, &[grant, ("assertion", &assertion)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().unwrap() > 60);
    assert!(body["access_token"].as_str().unwrap().split('.').count() == 3);
    assert!(
        body.get("refresh_token").is_none(),
        "a service exchanges again instead"
    );
    assert_eq!(headers["cache-control"], "no-store");

    let (status, _, body) = post(&app, &[grant, ("assertion", &assertion)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "a replay"
    );
    let (status, _, body) = post(&app, &[grant]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, _, body) = post(&app, &[("grant_type", "password")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (status, _, body) = post(&app, &[("scope", "x")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let secret_post = [
        ("grant_type", "client_credentials"),
        ("client_id", robot.account.id.as_str()),
        ("client_secret", "tnt_cs_wrong"),
    ];
    let (status, headers, body) = post(&app, &secret_post).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(headers.contains_key("www-authenticate"));
    let (status, _, body) = post(&app, &[("grant_type", "client_credentials")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );

    let json = reqwest::Client::new()
        .post(token_url(&app))
        .json(&serde_json::json!({ "grant_type": "client_credentials" }))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status().as_u16(), 400, "only form bodies");
}

async fn the_endpoint_is_advertised_in_authorization_server_metadata(backend: Backend) {
    let app = TestApp::start(backend).await;
    let metadata: Value = reqwest::get(format!(
        "{}/.well-known/oauth-authorization-server",
        app.url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(metadata["issuer"], app.issuer());
    assert_eq!(metadata["token_endpoint"], token_url(&app));
    let grants = metadata["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&"client_credentials".into()));
    assert!(grants.contains(&"urn:ietf:params:oauth:grant-type:jwt-bearer".into()));
}

on_both_backends!(
    a_standard_oauth_client_gets_tokens_with_client_credentials,
    the_jwt_bearer_grant_and_errors_follow_the_rfcs,
    the_endpoint_is_advertised_in_authorization_server_metadata,
);
