//! Every kind of credential signs in, renews and fails the way its users
//! expect: a person's session kept in a store and refreshed (one refresh
//! for many tasks), a service's key file or secret, tokens as they are.

use std::{
    os::unix::fs::PermissionsExt as _,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

use tenantry_client::{
    Error, Result, Tenantry,
    auth::v1::{GetMeRequest, LogoutRequest, Role},
    credentials::{
        ClientCredentials, FileStore, KeyFile, MemoryStore, Password, PersonalAccessToken,
        StaticToken, StoredSession, StoredTokens, TokenStore,
    },
    file::v1::ListFilesRequest,
    serviceaccount::v1::{AddServiceAccountKeyRequest, KeyAlgorithm},
};
use tenantry_tests::{Backend, PASSWORD, TestApp, TestUser, new_service_account, on_both_backends};
use tonic::Code;

/// A memory store that counts its saves: one save per sign-in or refresh.
#[derive(Debug, Clone, Default)]
struct Counting {
    tokens: Arc<MemoryStore>,
    saves: Arc<AtomicUsize>,
}

impl TokenStore for Counting {
    fn load(&self) -> Result<Option<StoredTokens>> {
        self.tokens.load()
    }

    fn save(&self, tokens: &StoredTokens) -> Result<()> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        self.tokens.save(tokens)
    }
}

impl Counting {
    /// A store holding `user`'s session with its access token expiring in
    /// `expires_in` seconds (the SDK trusts the stored expiry).
    fn holding(user: &TestUser, expires_in: i64) -> Self {
        let mut tokens = StoredTokens::from(&user.tokens);
        tokens.access_expires = unix_now() + expires_in;
        let store = Self::default();
        store.tokens.save(&tokens).unwrap();
        store
    }

    fn saves(&self) -> usize {
        self.saves.load(Ordering::SeqCst)
    }

    fn stored(&self) -> StoredTokens {
        self.tokens.load().unwrap().unwrap()
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

async fn me(tenantry: &Tenantry) -> Result<String> {
    let me = tenantry.auth().get_me(GetMeRequest {}).await?.into_inner();
    Ok(me.user.unwrap_or_default().email)
}

async fn a_password_session_is_kept_in_a_private_file_and_refreshed(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tenantry").join("session.json");
    let signed_in = Tenantry::builder(app.url())
        .credentials(Password::new(&ann.email, PASSWORD).store(FileStore::new(&path)))
        .build()
        .unwrap();
    assert_eq!(me(&signed_in).await.unwrap(), ann.email);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "only its owner reads the session");
    let first = FileStore::new(&path).load().unwrap().unwrap();

    // The next run finds the access token stale and refreshes (rotation:
    // the successor replaces the spent refresh token in the file).
    let mut stale = first.clone();
    stale.access_expires = unix_now() - 1;
    FileStore::new(&path).save(&stale).unwrap();
    let next_run = Tenantry::builder(app.url())
        .credentials(StoredSession::new(FileStore::new(&path)))
        .build()
        .unwrap();
    assert_eq!(me(&next_run).await.unwrap(), ann.email);
    let second = FileStore::new(&path).load().unwrap().unwrap();
    assert_ne!(second.refresh_token, first.refresh_token, "rotated");
    assert_ne!(second.access_token, first.access_token);
}

async fn many_tasks_share_one_refresh(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    let store = Counting::holding(&ann, -1);
    let tenantry = app
        .client()
        .await
        .with_credentials(StoredSession::new(store.clone()));
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let tenantry = tenantry.clone();
            tokio::spawn(async move { me(&tenantry).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), ann.email);
    }
    assert_eq!(store.saves(), 1, "one refresh for twenty calls");
}

async fn a_token_is_renewed_shortly_before_it_expires_not_sooner(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;

    let lasting = Counting::holding(&ann, 600);
    let tenantry = app
        .client()
        .await
        .with_credentials(StoredSession::new(lasting.clone()));
    me(&tenantry).await.unwrap();
    assert_eq!(lasting.saves(), 0, "ten minutes left: used as it is");

    let ending = Counting::holding(&ann, 10);
    let tenantry = app
        .client()
        .await
        .with_credentials(StoredSession::new(ending.clone()));
    me(&tenantry).await.unwrap();
    assert_eq!(ending.saves(), 1, "ten seconds left: renewed first");
    assert!(ending.stored().access_expires > unix_now() + 60);
}

async fn a_refused_token_is_renewed_once_and_a_fixed_one_is_reported(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    let store = Counting::holding(&ann, 600);
    let mut garbled = store.stored();
    garbled.access_token = "not-a-token".into();
    store.tokens.save(&garbled).unwrap();
    let tenantry = app
        .client()
        .await
        .with_credentials(StoredSession::new(store.clone()));
    assert_eq!(me(&tenantry).await.unwrap(), ann.email);
    assert_eq!(store.saves(), 1, "refreshed after the server refused it");

    let fixed = app
        .client()
        .await
        .with_credentials(StaticToken::new("not-a-token"));
    let error = me(&fixed).await.unwrap_err();
    assert_eq!(error.code(), Code::Unauthenticated);
    assert!(!error.is_retryable());
    assert!(error.request_id().is_some(), "{error}");
}

async fn an_ended_session_is_reported_or_signed_in_again(backend: Backend) {
    let app = TestApp::start(backend).await;
    let ann = app.user("ann").await;
    ann.client.auth().logout(LogoutRequest {}).await.unwrap();

    let kept = Counting::holding(&ann, -1);
    let tenantry = app
        .client()
        .await
        .with_credentials(StoredSession::new(kept.clone()));
    let error: Error = me(&tenantry).await.unwrap_err();
    assert_eq!(error.code(), Code::Unauthenticated, "{error}");

    let password = Password::new(&ann.email, PASSWORD).store(kept.clone());
    let tenantry = app.client().await.with_credentials(password);
    assert_eq!(me(&tenantry).await.unwrap(), ann.email);
    assert_eq!(kept.saves(), 1, "signed in again");

    let wrong = Password::new(&ann.email, "not the password");
    let error = me(&app.client().await.with_credentials(wrong))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::Unauthenticated, "{error}");
}

async fn a_service_calls_with_its_key_file_or_secret(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let (account, secret) = new_service_account(&team.admin.client, "robot", Role::Viewer).await;
    for algorithm in [KeyAlgorithm::Ed25519, KeyAlgorithm::Rs256] {
        let added = team
            .admin
            .client
            .service_accounts()
            .add_service_account_key(AddServiceAccountKeyRequest {
                service_account_id: account.id.clone(),
                algorithm: algorithm as i32,
                public_key_pem: String::new(),
                expire_time: None,
            })
            .await
            .unwrap()
            .into_inner();
        let key = KeyFile::from_json(&added.key_file).unwrap();
        assert_eq!(key.client_id(), account.id);
        let service = app.client().await.with_credentials(key);
        let files = service
            .files()
            .list_files(ListFilesRequest::default())
            .await;
        assert!(files.is_ok(), "{algorithm:?}: {files:?}");
    }

    let service = app
        .client()
        .await
        .with_credentials(ClientCredentials::new(&account.id, &secret));
    service
        .files()
        .list_files(ListFilesRequest::default())
        .await
        .unwrap();
    let wrong = ClientCredentials::new(&account.id, "tnt_cs_wrong");
    let refused = app.client().await.with_credentials(wrong);
    let error = Error::from(
        refused
            .files()
            .list_files(ListFilesRequest::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(error.code(), Code::Unauthenticated, "{error}");

    let token = app.personal_token(&team.member, Role::Viewer).await;
    let script = app
        .client()
        .await
        .with_credentials(PersonalAccessToken::new(token));
    assert_eq!(me(&script).await.unwrap(), team.member.email);
}

#[test]
fn a_key_file_that_is_not_one_is_refused_before_any_call() {
    let dir = tempfile::tempdir().unwrap();
    let missing = KeyFile::from_path(dir.path().join("nope.json")).unwrap_err();
    assert_eq!(missing.code(), Code::NotFound, "{missing}");
    let garbage = KeyFile::from_json("{\"key_id\": 1}").unwrap_err();
    assert_eq!(garbage.code(), Code::InvalidArgument, "{garbage}");
    let json = r#"{"key_id":"k","client_id":"c","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}"#;
    let bad_key = KeyFile::from_json(json).unwrap_err();
    assert_eq!(bad_key.code(), Code::InvalidArgument, "{bad_key}");
}

on_both_backends!(
    a_password_session_is_kept_in_a_private_file_and_refreshed,
    many_tasks_share_one_refresh,
    a_token_is_renewed_shortly_before_it_expires_not_sooner,
    a_refused_token_is_renewed_once_and_a_fixed_one_is_reported,
    an_ended_session_is_reported_or_signed_in_again,
    a_service_calls_with_its_key_file_or_secret,
);
