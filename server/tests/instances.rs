//! Three server processes on one PostgreSQL and one S3 server, started as
//! the README's "Run several instances" recipe says (one signing key and
//! one master key for all, made once with the binary and `openssl`-style
//! random hex), behave as one server: a logout or a demotion on one holds
//! on the others within a second, chunks of a resumable upload may go to
//! any of them, and identical uploads through all three end as one blob.

mod common;

use std::{ffi::OsString, path::Path, time::Duration};

use futures::future::join_all;
use tenantry_client::{
    Tenantry,
    auth::v1::{
        GetMeRequest, LoginRequest, LogoutRequest, RegisterRequest, Role, VerifyEmailRequest,
    },
    file::v1::{
        AppendUploadChunkRequest, CompleteUploadSessionRequest, CreateUploadSessionRequest,
        FileMetadata, GetStorageUsageRequest, GetUploadSessionRequest,
    },
    files::no_progress,
    org::v1::{
        AcceptInvitationRequest, CreateInvitationRequest, CreateOrganizationRequest,
        ListInvitationsRequest, SwitchOrganizationRequest, UpdateMemberRoleRequest,
    },
};
use tokio::process::Child;
use tonic::Code;

const PASSWORD: &str = "correct horse battery staple";

struct Three {
    /// Anonymous clients of A, B and C.
    clients: Vec<Tenantry>,
    /// Their admin listeners (`/metrics`).
    admins: Vec<String>,
    /// A's data folder (its mail).
    mail_of_a: std::path::PathBuf,
    _servers: Vec<Child>,
    _folders: Vec<tempfile::TempDir>,
    _stores: common::SharedStores,
}

async fn three() -> Three {
    three_with(&[]).await
}

/// Three instances, each also given `extra` flags.
async fn three_with(extra: &[&str]) -> Three {
    let stores = common::SharedStores::start().await;
    let keys = tempfile::tempdir().unwrap();
    let shared = shared_keys(keys.path()).await;
    let mut folders = vec![keys];
    let (mut servers, mut clients, mut admins) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        let data = tempfile::tempdir().unwrap();
        let mut args = common::embedded(data.path());
        args.extend(stores.args());
        args.extend(shared.iter().cloned());
        let admin = common::free_addr();
        args.extend(["--admin-listen".into(), OsString::from(&admin)]);
        args.extend(extra.iter().map(OsString::from));
        let listen = common::free_addr();
        servers.push(common::start(&listen, &args).await);
        admins.push(admin);
        let client = Tenantry::builder(format!("http://{listen}"))
            .retry(tenantry_client::RetryPolicy::none())
            .build()
            .unwrap();
        clients.push(client);
        folders.push(data);
    }
    Three {
        clients,
        admins,
        mail_of_a: folders[1].path().join("mail"),
        _servers: servers,
        _folders: folders,
        _stores: stores,
    }
}

/// The recipe's first step: a signing key from the binary and a master key
/// of 32 random bytes in hex; the flags that give them to an instance.
async fn shared_keys(dir: &Path) -> Vec<OsString> {
    let signing = dir.join("signing.pem");
    let made = tokio::process::Command::new(env!("CARGO_BIN_EXE_tenantry-server"))
        .arg("generate-signing-key")
        .arg("--out")
        .arg(&signing)
        .status()
        .await
        .unwrap();
    assert!(made.success());
    let master = dir.join("master.key");
    let mut bytes = [0_u8; 32];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").unwrap(),
        &mut bytes,
    )
    .unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(&master, hex).unwrap();
    vec![
        "--signing-key".into(),
        signing.into(),
        "--master-key".into(),
        master.into(),
    ]
}

impl Three {
    /// A verified account, signed in on A; its access token.
    async fn person(&self, email: &str) -> String {
        let a = &self.clients[0];
        let register = RegisterRequest {
            email: email.into(),
            password: PASSWORD.into(),
            display_name: String::new(),
        };
        a.auth().register(register).await.unwrap();
        let token = self.verification_token(email);
        a.auth()
            .verify_email(VerifyEmailRequest { token })
            .await
            .unwrap();
        let login = LoginRequest {
            email: email.into(),
            password: PASSWORD.into(),
            organization_id: String::new(),
        };
        let signed_in = a.auth().login(login).await.unwrap().into_inner();
        signed_in.tokens.unwrap().access_token
    }

    fn verification_token(&self, email: &str) -> String {
        let mails = std::fs::read_dir(&self.mail_of_a).unwrap();
        mails
            .filter_map(|m| std::fs::read_to_string(m.unwrap().path()).ok())
            .filter(|text| text.contains(&format!("To: <{email}>")))
            .find_map(|text| {
                let line = text
                    .lines()
                    .find_map(|l| l.strip_prefix("Verification token: "))?;
                Some(line.trim().to_owned())
            })
            .expect("a verification mail")
    }

    /// Instance `index` acting with `token`.
    fn on(&self, index: usize, token: &str) -> Tenantry {
        self.clients[index].with_token(token)
    }

    /// The sum over the three of a metric's sample (`name{labels}`).
    async fn metric_sum(&self, line: &str) -> f64 {
        let mut sum = 0.0;
        for admin in &self.admins {
            let text = reqwest::get(format!("http://{admin}/metrics"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            sum += text
                .lines()
                .find_map(|l| l.strip_prefix(line)?.strip_prefix(' ')?.parse::<f64>().ok())
                .unwrap_or(0.0);
        }
        sum
    }
}

/// Polls `call` until it fails with `code`; panics after `within`.
async fn refused_within<F, T>(within: Duration, code: Code, mut call: F)
where
    F: AsyncFnMut() -> Result<T, tonic::Status>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match call().await {
            Err(status) if status.code() == code => return,
            _ if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            other => panic!("still not {code:?} after {within:?}: {:?}", other.err()),
        }
    }
}

/// Ann, owner of a new organization "acme" on A; her pinned access token.
async fn owner_of_acme(three: &Three) -> (String, String) {
    let ann = three.person("ann@example.com").await;
    let request = CreateOrganizationRequest {
        name: "Acme".into(),
        slug: "acme".into(),
    };
    let created = three.on(0, &ann).org().create_organization(request).await;
    let created = created.unwrap().into_inner();
    let org = created.organization.unwrap().id;
    (created.tokens.unwrap().access_token, org)
}

/// Bob, an admin of Ann's organization; his pinned access token.
async fn admin_of_acme(three: &Three, ann: &str, org: &str) -> (String, String) {
    let bob = three.person("bob@example.com").await;
    let invite = CreateInvitationRequest {
        email: "bob@example.com".into(),
        role: Role::Admin as i32,
    };
    let invited = three.on(0, ann).org().create_invitation(invite).await;
    let token = invited.unwrap().into_inner().token;
    let accept = AcceptInvitationRequest { token };
    three
        .on(0, &bob)
        .org()
        .accept_invitation(accept)
        .await
        .unwrap();
    let me = three.on(0, &bob).auth().get_me(GetMeRequest {}).await;
    let bob_id = me.unwrap().into_inner().user.unwrap().id;
    let switch = SwitchOrganizationRequest {
        organization_id: org.into(),
    };
    let switched = three.on(0, &bob).org().switch_organization(switch).await;
    let tokens = switched.unwrap().into_inner().tokens.unwrap();
    (tokens.access_token, bob_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_or_a_demotion_on_one_holds_on_the_others_within_a_second() {
    let three = three().await;
    let (ann, org) = owner_of_acme(&three).await;
    let (bob, bob_id) = admin_of_acme(&three, &ann, &org).await;
    // C has read (and cached) Bob's live session and role.
    let on_c = three.on(2, &bob);
    on_c.org()
        .list_invitations(ListInvitationsRequest::default())
        .await
        .unwrap();
    let demote = UpdateMemberRoleRequest {
        user_id: bob_id,
        role: Role::Member as i32,
    };
    three
        .on(0, &ann)
        .org()
        .update_member_role(demote)
        .await
        .unwrap();
    refused_within(Duration::from_secs(1), Code::PermissionDenied, async || {
        on_c.org()
            .list_invitations(ListInvitationsRequest::default())
            .await
    })
    .await;

    // B and C have read Bob's session; he signs out on A.
    let (on_b, on_c) = (three.on(1, &bob), three.on(2, &bob));
    on_b.auth().get_me(GetMeRequest {}).await.unwrap();
    on_c.auth().get_me(GetMeRequest {}).await.unwrap();
    three
        .on(0, &bob)
        .auth()
        .logout(LogoutRequest {})
        .await
        .unwrap();
    for other in [&on_b, &on_c] {
        refused_within(Duration::from_secs(1), Code::Unauthenticated, async || {
            other.auth().get_me(GetMeRequest {}).await
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_of_a_resumable_upload_go_to_any_instance() {
    let three = three().await;
    let (ann, _) = owner_of_acme(&three).await;
    // One resumable upload, a step on each instance in turn.
    let bytes: Vec<u8> = (0..300_000_u32).map(|i| (i % 251) as u8).collect();
    let metadata = FileMetadata {
        name: "spread.bin".into(),
        ..FileMetadata::default()
    };
    let create = CreateUploadSessionRequest {
        metadata: Some(metadata),
    };
    let created = three
        .on(0, &ann)
        .files()
        .create_upload_session(create)
        .await;
    let session = created.unwrap().into_inner().session.unwrap().id;
    for (n, chunk) in bytes.chunks(100_000).enumerate() {
        let append = AppendUploadChunkRequest {
            session_id: session.clone(),
            offset: (n * 100_000) as i64,
            chunk: chunk.to_vec().into(),
        };
        let on = three.on((n + 1) % 3, &ann);
        on.files().append_upload_chunk(append).await.unwrap();
    }
    let complete = CompleteUploadSessionRequest {
        session_id: session,
    };
    let done = three
        .on(1, &ann)
        .files()
        .complete_upload_session(complete)
        .await;
    let file = done.unwrap().into_inner().file.unwrap();
    let mut back = Vec::new();
    three
        .on(2, &ann)
        .download(&file.id, &mut back, no_progress)
        .await
        .unwrap();
    assert!(back == bytes, "the file reads back whole on C");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_uploads_through_three_instances_make_one_blob() {
    let three = three().await;
    let (ann, _) = owner_of_acme(&three).await;
    // Twenty identical uploads at once, round-robin over the three.
    let same = vec![42_u8; 200_000];
    let uploads = (0..20).map(|n| {
        let (client, same) = (three.on(n % 3, &ann), same.clone());
        async move {
            let metadata = FileMetadata {
                name: format!("copy-{n}"),
                ..FileMetadata::default()
            };
            client
                .upload(metadata, std::io::Cursor::new(same), no_progress)
                .await
        }
    });
    for uploaded in join_all(uploads).await {
        uploaded.unwrap();
    }
    let on_c = three.on(2, &ann);
    let usage = on_c
        .files()
        .get_storage_usage(GetStorageUsageRequest {})
        .await;
    let usage = usage.unwrap().into_inner();
    assert_eq!(usage.file_count, 20);
    assert_eq!(usage.stored_bytes, 200_000, "one copy of the twenty");
    assert_eq!(usage.saved_by_dedup_bytes, 19 * 200_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_job_runners_do_each_job_once() {
    // Upload sessions that expire at once, and job runners that poll often.
    let three = three_with(&["--upload-session-ttl", "1s", "--job-interval", "100ms"]).await;
    let (ann, _) = owner_of_acme(&three).await;
    let mut sessions = Vec::new();
    for n in 0..45 {
        let metadata = FileMetadata {
            name: format!("abandoned-{n}"),
            ..FileMetadata::default()
        };
        let create = CreateUploadSessionRequest {
            metadata: Some(metadata),
        };
        let created = three
            .on(n % 3, &ann)
            .files()
            .create_upload_session(create)
            .await;
        sessions.push(created.unwrap().into_inner().session.unwrap().id);
    }
    // The three runners race for the 45 expiry jobs; each is done once.
    let done = r#"tenantry_jobs_done_total{kind="upload_session.expire"}"#;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while three.metric_sum(done).await < 45.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the jobs were not all done"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(three.metric_sum(done).await, 45.0, "no job was done twice");
    for (n, id) in sessions.into_iter().enumerate() {
        let request = GetUploadSessionRequest { session_id: id };
        let gone = three
            .on(n % 3, &ann)
            .files()
            .get_upload_session(request)
            .await;
        assert_eq!(
            gone.unwrap_err().code(),
            Code::NotFound,
            "session {n} was cleaned up"
        );
    }
}
