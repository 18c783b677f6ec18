//! The web client's demo app (`client/web`), used as a person would: headless
//! Chromium types, clicks and reads what the page shows — sign-up and sign-in,
//! a passkey added and used alone and as the second step, an organization,
//! an upload with its progress bar, the list, a download compared byte for
//! byte, a delete, and an error shown next to its field — cross-origin
//! through the server's CORS allow-list.

use tenantry_tests::{
    Backend, TestApp,
    browser::{drive_demo_app, free_port},
    on_both_backends,
};

async fn a_person_uses_the_demo_app_in_a_browser(backend: Backend) {
    tenantry_tests::require_browser();
    let port = free_port();
    // A domain (passkeys need one), served on loopback.
    let origin = format!("http://localhost:{port}");
    let app = TestApp::builder(backend)
        .configure(move |config| config.cors_origins = vec![origin])
        .start()
        .await;
    // Kept with the build output, for a person to look at.
    let screenshot = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("demo-app-{backend:?}.png").to_lowercase());
    let summary = drive_demo_app(&app.url(), ("localhost", port), &screenshot)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        screenshot.exists(),
        "a screenshot at {}",
        screenshot.display()
    );
    // What the page showed the person, as the script read it.
    assert_eq!(summary["fieldError"]["field"], "password", "{summary}");
    assert!(
        summary["signedInAs"]
            .as_str()
            .is_some_and(|s| s.contains('@')),
        "{summary}"
    );
    assert!(
        summary["organization"]
            .as_str()
            .is_some_and(|s| s.contains("owner")),
        "{summary}"
    );
    let progress = summary["uploadProgress"]
        .as_array()
        .expect("upload progress");
    assert_eq!(
        progress.last().and_then(serde_json::Value::as_i64),
        Some(100),
        "{summary}"
    );
    assert_eq!(summary["downloaded"]["equal"], true, "{summary}");
    let passkey = &summary["passkey"];
    assert_eq!(passkey["recoveryCodes"], 10, "{summary}");
    for signed_in in [&passkey["signedInAs"], &passkey["secondStepAs"]] {
        assert!(
            signed_in.as_str().is_some_and(|s| s.contains('@')),
            "{summary}"
        );
    }
    assert_eq!(summary["deleted"], true, "{summary}");
}

on_both_backends!(a_person_uses_the_demo_app_in_a_browser);
