//! The hash chain: an event edited or removed directly in the database
//! breaks `VerifyAuditChain` at that event. (These tests reach under the API
//! on purpose, with the database's own tools.)

use tenantry_client::audit::v1::{
    AuditEvent, ListAuditEventsRequest, VerifyAuditChainRequest, VerifyAuditChainResponse,
};
use tenantry_tests::{Backend, Team, TestApp, on_both_backends};

fn execute(app: &TestApp, sql: &str) {
    app.execute_sql(sql);
}

async fn verify_chain(team: &Team) -> VerifyAuditChainResponse {
    team.owner
        .client
        .audit()
        .verify_audit_chain(VerifyAuditChainRequest {})
        .await
        .unwrap()
        .into_inner()
}

/// The organization's events, newest first.
async fn newest_first(team: &Team) -> Vec<AuditEvent> {
    team.owner
        .client
        .audit()
        .list_audit_events(ListAuditEventsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .events
}

async fn an_edited_event_breaks_the_chain_there(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let verdict = verify_chain(&team).await;
    assert!(verdict.intact, "{verdict:?}");
    let events = newest_first(&team).await;
    assert_eq!(verdict.events_checked, events.len() as i64);
    let victim = &events[events.len() / 2];
    execute(
        &app,
        &format!(
            "UPDATE audit_events SET details = '{{\"role\":\"owner\"}}' WHERE id = '{}'",
            victim.id
        ),
    );
    let verdict = verify_chain(&team).await;
    assert!(!verdict.intact);
    assert_eq!(
        (
            verdict.first_broken_event_id.as_str(),
            verdict.first_broken_sequence
        ),
        (victim.id.as_str(), victim.sequence)
    );
    assert!(verdict.reason.contains("altered"), "{}", verdict.reason);
}

async fn a_removed_event_breaks_the_chain(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let events = newest_first(&team).await;
    // The newest event: nothing after it would notice, but the head does.
    execute(
        &app,
        &format!("DELETE FROM audit_events WHERE id = '{}'", events[0].id),
    );
    let verdict = verify_chain(&team).await;
    assert!(!verdict.intact);
    assert_eq!(verdict.first_broken_sequence, events[0].sequence);
    // One in the middle.
    execute(
        &app,
        &format!("DELETE FROM audit_events WHERE id = '{}'", events[2].id),
    );
    let verdict = verify_chain(&team).await;
    assert_eq!(
        verdict.first_broken_sequence, events[1].sequence,
        "{verdict:?}"
    );
}

async fn an_inserted_event_breaks_the_chain(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let newest = newest_first(&team).await.remove(0);
    // A forged event appended after the newest, linked to it.
    execute(
        &app,
        &format!(
            "INSERT INTO audit_events (id, org_id, seq, occurred_at, actor_type, actor_id, \
             action, target_type, target_id, outcome, request_id, client_ip, user_agent, \
             details, prev_hash, hash) \
             SELECT 'forged', org_id, seq + 1, occurred_at, actor_type, actor_id, \
             'org.member.removed', target_type, target_id, outcome, request_id, client_ip, \
             user_agent, details, hash, hash FROM audit_events WHERE id = '{}'",
            newest.id
        ),
    );
    let verdict = verify_chain(&team).await;
    assert!(!verdict.intact);
    assert_eq!(
        (
            verdict.first_broken_event_id.as_str(),
            verdict.first_broken_sequence
        ),
        ("forged", newest.sequence + 1),
        "{verdict:?}"
    );
}

on_both_backends!(
    an_edited_event_breaks_the_chain_there,
    a_removed_event_breaks_the_chain,
    an_inserted_event_breaks_the_chain
);
