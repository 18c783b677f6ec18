//! `kill -9` of the server binary in the middle of uploads, refreshes and
//! organization switches, then a restart on the same data: no half file is
//! visible, nothing that was acknowledged is lost, sessions refresh from
//! the last pair their clients received, and every audit chain verifies.

mod common;

use std::{
    ffi::OsString,
    path::Path,
    sync::{Arc, Mutex},
};

use sha2::{Digest as _, Sha256};
use tenantry_client::{
    Tenantry,
    audit::v1::VerifyAuditChainRequest,
    auth::v1::{LoginRequest, RefreshRequest, RegisterRequest, TokenPair, VerifyEmailRequest},
    file::v1::{FileMetadata, ListFilesRequest},
    files::no_progress,
    org::v1::{CreateOrganizationRequest, SwitchOrganizationRequest},
};
use tokio::sync::watch;

const EMAIL: &str = "ann@example.com";
const PASSWORD: &str = "correct horse battery staple";

/// The bytes of upload `n`: different for each, known to both sides.
fn content(n: usize) -> Vec<u8> {
    (0..150_000 + n * 1_000)
        .map(|i| ((i * 31 + n * 7) % 251) as u8)
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn login(anonymous: &Tenantry, organization_id: &str) -> TokenPair {
    let request = LoginRequest {
        email: EMAIL.into(),
        password: PASSWORD.into(),
        organization_id: organization_id.into(),
    };
    let login = anonymous.auth().login(request).await.unwrap().into_inner();
    login.tokens.unwrap()
}

/// Ann, verified, owner of two organizations; their ids.
async fn ann_with_two_organizations(anonymous: &Tenantry, data: &Path) -> (String, String) {
    let register = RegisterRequest {
        email: EMAIL.into(),
        password: PASSWORD.into(),
        display_name: "Ann".into(),
    };
    anonymous.auth().register(register).await.unwrap();
    let mail = std::fs::read_dir(data.join("mail"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let text = std::fs::read_to_string(mail.path()).unwrap();
    let token = text
        .lines()
        .find_map(|l| l.strip_prefix("Verification token: "))
        .unwrap();
    let verify = VerifyEmailRequest {
        token: token.into(),
    };
    anonymous.auth().verify_email(verify).await.unwrap();
    let mut token = login(anonymous, "").await.access_token;
    let mut ids = Vec::new();
    for slug in ["acme", "globex"] {
        let ann = anonymous.with_token(token);
        let request = CreateOrganizationRequest {
            name: slug.into(),
            slug: slug.into(),
        };
        // Creating one moves the session into it: its new pair goes on.
        let created = ann
            .org()
            .create_organization(request)
            .await
            .unwrap()
            .into_inner();
        token = created.tokens.unwrap().access_token;
        ids.push(created.organization.unwrap().id);
    }
    (ids[0].clone(), ids[1].clone())
}

/// Uploads files until the server goes away; each acknowledged one is
/// recorded (id, SHA-256) and counted on `acked`.
async fn upload_until_killed(
    owner: Tenantry,
    uploaded: Arc<Mutex<Vec<(String, String)>>>,
    acked: watch::Sender<usize>,
) {
    for n in 0.. {
        let bytes = content(n);
        let metadata = FileMetadata {
            name: format!("file-{n}"),
            ..FileMetadata::default()
        };
        let reader = std::io::Cursor::new(bytes.clone());
        let Ok(done) = owner.upload(metadata, reader, no_progress).await else {
            return;
        };
        uploaded
            .lock()
            .unwrap()
            .push((done.file.unwrap().id, sha256_hex(&bytes)));
        acked.send_modify(|count| *count += 1);
    }
}

/// Refreshes a session until the server goes away; the last pair received.
async fn refresh_until_killed(anonymous: Tenantry, mut pair: TokenPair) -> TokenPair {
    loop {
        let request = RefreshRequest {
            refresh_token: pair.refresh_token.clone(),
        };
        match anonymous.auth().refresh(request).await {
            Ok(answer) => pair = answer.into_inner().tokens.unwrap(),
            Err(_) => return pair,
        }
    }
}

/// Switches a session between two organizations until the server goes
/// away; the last pair received.
async fn switch_until_killed(
    anonymous: Tenantry,
    mut pair: TokenPair,
    orgs: [String; 2],
) -> TokenPair {
    for n in 0.. {
        let session = anonymous.with_token(pair.access_token.clone());
        let request = SwitchOrganizationRequest {
            organization_id: orgs[n % 2].clone(),
        };
        match session.org().switch_organization(request).await {
            Ok(answer) => pair = answer.into_inner().tokens.unwrap(),
            Err(_) => break,
        }
    }
    pair
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_restarts_with_nothing_half_done_and_nothing_lost() {
    let data = tempfile::tempdir().unwrap();
    kill_mid_load_and_restart(data.path(), common::embedded(data.path())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_on_postgres_and_s3_restarts_with_nothing_half_done_and_nothing_lost() {
    let data = tempfile::tempdir().unwrap();
    let stores = common::SharedStores::start().await;
    let mut args = common::embedded(data.path());
    args.extend(stores.args());
    kill_mid_load_and_restart(data.path(), args).await;
}

/// SIGKILL in the middle of uploads, refreshes and switches, a restart with
/// the same `args` (whose data folder is `data`), then every check.
async fn kill_mid_load_and_restart(data: &Path, args: Vec<OsString>) {
    let listen = common::free_addr();
    let mut server = common::start(&listen, &args).await;
    let anonymous = Tenantry::builder(format!("http://{listen}"))
        .retry(tenantry_client::RetryPolicy::none())
        .build()
        .unwrap();
    let (acme, globex) = ann_with_two_organizations(&anonymous, data).await;

    let owner = anonymous.with_token(login(&anonymous, &acme).await.access_token);
    let uploaded = Arc::new(Mutex::new(Vec::new()));
    let (acked, mut watch_acked) = watch::channel(0);
    let uploads = tokio::spawn(upload_until_killed(owner, uploaded.clone(), acked));
    let refreshes = tokio::spawn(refresh_until_killed(
        anonymous.clone(),
        login(&anonymous, &acme).await,
    ));
    let switches = tokio::spawn(switch_until_killed(
        anonymous.clone(),
        login(&anonymous, &acme).await,
        [globex.clone(), acme.clone()],
    ));
    // Mid-load: three uploads through, more on the way.
    watch_acked.wait_for(|&n| n >= 3).await.unwrap();
    server.start_kill().unwrap();
    server.wait().await.unwrap();
    uploads.await.unwrap();
    let refreshed = refreshes.await.unwrap();
    let switched = switches.await.unwrap();

    let _server = common::start(&listen, &args).await;
    let acked = uploaded.lock().unwrap().clone();
    acknowledged_uploads_are_whole(&anonymous, &acme, &acked).await;
    // Both sessions go on from the last pair their clients received (a
    // refresh committed but unanswered is within the refresh grace).
    for pair in [refreshed, switched] {
        let request = RefreshRequest {
            refresh_token: pair.refresh_token,
        };
        let again = anonymous.auth().refresh(request).await;
        assert!(again.is_ok(), "{again:?}");
    }
    for org in [&acme, &globex] {
        let ann = anonymous.with_token(login(&anonymous, org).await.access_token);
        let chain = ann
            .audit()
            .verify_audit_chain(VerifyAuditChainRequest {})
            .await
            .unwrap();
        let chain = chain.into_inner();
        assert!(chain.intact, "audit chain of {org}: {chain:?}");
        assert!(chain.events_checked > 0);
    }
}

/// Every acknowledged upload (id, SHA-256) is listed with its hash, and
/// every listed file downloads whole: nothing lost, nothing half there.
async fn acknowledged_uploads_are_whole(
    anonymous: &Tenantry,
    org: &str,
    acked: &[(String, String)],
) {
    use futures::TryStreamExt as _;
    let owner = anonymous.with_token(login(anonymous, org).await.access_token);
    let listed: Vec<_> = owner
        .list(ListFilesRequest::default())
        .try_collect()
        .await
        .unwrap();
    for (id, sha) in acked {
        let file = listed.iter().find(|f| &f.id == id);
        assert_eq!(
            file.map(|f| &f.sha256),
            Some(sha),
            "acknowledged upload {id} kept"
        );
    }
    for file in &listed {
        let n: usize = file.name.trim_start_matches("file-").parse().unwrap();
        let mut bytes = Vec::new();
        owner
            .download(&file.id, &mut bytes, no_progress)
            .await
            .unwrap();
        assert!(bytes == content(n), "{} is whole", file.name);
    }
}
