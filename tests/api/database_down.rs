//! PostgreSQL stops in the middle of a load and comes back: calls answer
//! UNAVAILABLE with a clear message (never INTERNAL), readiness goes false,
//! and everything works again without restarting the server. The cluster
//! is the test's own (the shared one serves the other tests).

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tenantry_client::{Tenantry, auth::v1::GetMeRequest, file::v1::ListFilesRequest};
use tenantry_tests::{Backend, TestApp, postgres::OwnCluster, require_postgres};
use tonic::Code;

/// What the load saw: how many calls ended with each code, and the messages
/// of the failures.
#[derive(Default)]
struct Seen {
    codes: BTreeMap<String, usize>,
    messages: Vec<String>,
}

async fn readyz(app: &TestApp) -> (u16, String) {
    let url = format!("http://{}/readyz", app.admin_addr());
    let response = reqwest::get(url).await.expect("the admin listener answers");
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Polls until `done` holds, for up to 30 s.
async fn eventually<F: AsyncFnMut() -> bool>(what: &str, mut done: F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads (GetMe, ListFiles) until `stop`, counting what each answered.
async fn load(client: Tenantry, seen: Arc<Mutex<Seen>>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let me = client.auth().get_me(GetMeRequest {}).await.map(|_| ());
        let files = client.files().list_files(ListFilesRequest::default()).await;
        for answer in [me, files.map(|_| ())] {
            let mut seen = seen.lock().unwrap();
            let code = answer.as_ref().err().map_or(Code::Ok, tonic::Status::code);
            *seen.codes.entry(format!("{code:?}")).or_default() += 1;
            if let Err(status) = answer {
                seen.messages.push(status.message().to_owned());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_answer_unavailable_while_the_database_is_down_and_recover_after() {
    require_postgres();
    let mut cluster = OwnCluster::start();
    let url = cluster.url();
    let app = TestApp::builder(Backend::Postgres)
        .configure(move |config| config.database_url = Some(url))
        .start()
        .await;
    let team = app.team("acme").await;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = (0..4)
        .map(|_| tokio::spawn(load(team.member.client.clone(), seen.clone(), stop.clone())))
        .collect();
    let ok_calls = || seen.lock().unwrap().codes.get("Ok").copied().unwrap_or(0);
    eventually("the load runs", async || ok_calls() > 20).await;

    cluster.stop();
    let unavailable = || seen.lock().unwrap().codes.get("Unavailable").copied();
    eventually("calls answer UNAVAILABLE", async || unavailable() > Some(4)).await;
    let (status, body) = readyz(&app).await;
    assert_eq!(
        (status, body.as_str()),
        (503, "the database does not answer\n")
    );

    cluster.restart();
    let before = ok_calls();
    eventually("calls work again", async || ok_calls() > before + 20).await;
    eventually("ready again", async || readyz(&app).await.0 == 200).await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let codes: Vec<&String> = seen.codes.keys().collect();
    assert_eq!(
        codes,
        ["Ok", "Unavailable"],
        "only these: {:?} {:?}",
        seen.codes,
        seen.messages
    );
    assert!(
        seen.messages.iter().all(|m| m.contains("database")),
        "each failure says the database is the cause: {:?}",
        seen.messages
    );
    // Nothing was lost: the server still has the team's organization.
    let me = team.member.client.auth().get_me(GetMeRequest {}).await;
    assert_eq!(me.unwrap().into_inner().organization_id, team.org.id);
}
