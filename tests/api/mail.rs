//! Mail through a real SMTP server (nodemailer's `smtp-server`, started by
//! the test): STARTTLS with authentication, implicit TLS, a relay that is
//! down and comes back, one that refuses for good. Sending goes through the
//! job queue, so the calls that send never wait for the relay.

use std::time::Duration;

use tenantry_client::auth::v1::{LoginRequest, RegisterRequest, VerifyEmailRequest};
use tenantry_server::config::{Config, SmtpTls as Mode};
use tenantry_tests::{
    Backend, PASSWORD, TestApp, on_both_backends, require_node,
    smtp::{SmtpOptions, SmtpServer, SmtpTls, free_port},
    tls::TestCa,
};

const WAIT: Duration = Duration::from_secs(20);

/// An app that sends through the relay on `port`, trusting `ca` (its file
/// lives as long as the returned folder), and whose job runner is woken as
/// soon as a mail is queued.
async fn app_with_relay(
    backend: Backend,
    port: u16,
    mode: Mode,
    ca: &TestCa,
) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("smtp-ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let app = TestApp::builder(backend)
        .configure(move |config: &mut Config| {
            config.mail.smtp_host = Some("localhost".into());
            config.mail.smtp_port = Some(port);
            config.mail.smtp_tls = mode;
            config.mail.smtp_username = Some("tenantry".into());
            config.mail.smtp_password = Some("relay secret".into());
            config.mail.smtp_ca_file = Some(ca_file);
            config.mail.mail_from = "Tenantry <no-reply@tenantry.test>".into();
            // A timer that never fires in a test: only the wake-up runs jobs.
            config.storage.job_interval = Duration::from_secs(3600);
        })
        .start()
        .await;
    (app, dir)
}

async fn register(app: &TestApp, email: &str) {
    app.client()
        .await
        .auth()
        .register(RegisterRequest {
            email: email.into(),
            password: PASSWORD.into(),
            display_name: "Ann".into(),
        })
        .await
        .expect("register, whatever the relay does");
}

/// The value on the `label: ` line of a raw message.
fn value(raw: &str, label: &str) -> String {
    raw.lines()
        .find_map(|l| l.strip_prefix(&format!("{label}: ")))
        .unwrap_or_else(|| panic!("no {label} in {raw}"))
        .to_owned()
}

fn relay(ca: &TestCa, tls: SmtpTls, port: u16, refuse: bool) -> SmtpOptions {
    SmtpOptions {
        port,
        tls,
        auth: Some(("tenantry".into(), "relay secret".into())),
        refuse,
        cert: Some(ca.server()),
    }
}

async fn mail_goes_to_the_relay_over_starttls_with_authentication(backend: Backend) {
    require_node();
    let ca = TestCa::new("smtp");
    let smtp = SmtpServer::start(relay(&ca, SmtpTls::StartTls, 0, false)).await;
    let (app, _ca) = app_with_relay(backend, smtp.port(), Mode::Starttls, &ca).await;
    register(&app, "ann@example.com").await;
    let mail = smtp.wait_for(1, WAIT).await.remove(0);
    assert_eq!(mail.from, "no-reply@tenantry.test");
    assert_eq!(mail.to, ["ann@example.com"]);
    assert_eq!(mail.user.as_deref(), Some("tenantry"));
    assert!(mail.secure, "upgraded with STARTTLS");
    assert!(mail.raw.contains("Content-Type: multipart/alternative"));
    assert!(mail.raw.contains("Content-Type: text/html; charset=utf-8"));
    // The token in the mail verifies the address.
    let token = value(&mail.raw, "Verification token");
    app.client()
        .await
        .auth()
        .verify_email(VerifyEmailRequest { token })
        .await
        .unwrap();
    // Nothing went to the folder.
    assert_eq!(
        std::fs::read_dir(app.mail_dir())
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
}

async fn mail_goes_to_the_relay_over_implicit_tls(backend: Backend) {
    require_node();
    let ca = TestCa::new("smtp");
    let smtp = SmtpServer::start(relay(&ca, SmtpTls::Implicit, 0, false)).await;
    let (app, _ca) = app_with_relay(backend, smtp.port(), Mode::Implicit, &ca).await;
    register(&app, "ann@example.com").await;
    let mail = smtp.wait_for(1, WAIT).await.remove(0);
    assert!(mail.secure);
    assert!(mail.raw.contains("Verification token: ev_"));
}

/// The relay is down: the call still answers, the mail waits in the queue,
/// and it goes out on a later attempt once the relay is back.
async fn a_relay_that_is_down_delays_the_mail_not_the_call(backend: Backend) {
    require_node();
    let ca = TestCa::new("smtp");
    let port = free_port();
    let (app, _ca) = app_with_relay(backend, port, Mode::Starttls, &ca).await;
    register(&app, "ann@example.com").await;
    // The first attempt (woken by the queueing) fails, and the mail waits
    // for its backoff.
    wait_until_nothing_is_due(&app).await;
    let smtp = SmtpServer::start(relay(&ca, SmtpTls::StartTls, port, false)).await;
    assert_eq!(app.run_jobs().await, 0, "backing off");
    app.advance(chrono::Duration::minutes(2));
    assert!(app.run_jobs().await >= 1);
    let mail = smtp.wait_for(1, WAIT).await.remove(0);
    assert_eq!(mail.to, ["ann@example.com"]);
}

/// A permanent refusal (550) is not retried for hours: the mail is dropped
/// and logged, and the queue is empty.
async fn a_relay_that_refuses_for_good_is_not_retried(backend: Backend) {
    require_node();
    let ca = TestCa::new("smtp");
    let smtp = SmtpServer::start(relay(&ca, SmtpTls::StartTls, 0, true)).await;
    let (app, _ca) = app_with_relay(backend, smtp.port(), Mode::Starttls, &ca).await;
    register(&app, "ann@example.com").await;
    // Sign-in is not held up either.
    app.client()
        .await
        .auth()
        .login(LoginRequest {
            email: "ann@example.com".into(),
            password: PASSWORD.into(),
            organization_id: String::new(),
        })
        .await
        .unwrap();
    wait_until_nothing_is_due(&app).await;
    assert!(smtp.received().is_empty());
    // Well past any retry's backoff (and before the hourly housekeeping).
    app.advance(chrono::Duration::minutes(30));
    assert_eq!(app.run_jobs().await, 0, "nothing left to retry");
}

/// Waits for the background runner to have tried the mail job: it is gone,
/// or waits for a later attempt (an event, with a deadline: the runner was
/// woken when the mail was queued).
async fn wait_until_nothing_is_due(app: &TestApp) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let stats = tenantry_server::jobs::queue_stats(app.state())
            .await
            .unwrap();
        if stats.due == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the mail job never ran"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

on_both_backends!(
    mail_goes_to_the_relay_over_starttls_with_authentication,
    mail_goes_to_the_relay_over_implicit_tls,
    a_relay_that_is_down_delays_the_mail_not_the_call,
    a_relay_that_refuses_for_good_is_not_retried,
);
