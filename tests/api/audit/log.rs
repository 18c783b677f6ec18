//! Every mutation writes exactly one event, with who, what, where from; a
//! rolled-back mutation writes none; the log is filtered, paged, exported.

use tenantry_client::{
    audit::v1::{
        ActorType, AuditEvent, AuditEventFilter, ExportAuditEventsRequest, ListAuditEventsRequest,
        Outcome,
    },
    auth::v1::Role,
    org::v1::{
        CreateInvitationRequest, LoginPolicy, RemoveMemberRequest, UpdateMemberRoleRequest,
        UpdateOrganizationRequest,
    },
};
use tenantry_tests::{Backend, TestApp, TestUser, assert_code, field_violations, on_both_backends};
use tonic::Code;

async fn events(admin: &TestUser) -> Vec<AuditEvent> {
    admin
        .client
        .audit()
        .list_audit_events(ListAuditEventsRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events
}

fn with_request_id<T>(message: T, id: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-request-id", id.parse().unwrap());
    request
}

async fn each_mutation_writes_exactly_one_event(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let owner = &team.owner;
    let before = events(owner).await.len();

    let update = UpdateOrganizationRequest {
        name: Some("Acme Inc.".into()),
        login_policy: LoginPolicy::Unspecified as i32,
        max_file_size_bytes: None,
    };
    owner
        .client
        .org()
        .update_organization(with_request_id(update, "req-update"))
        .await
        .unwrap();
    let invite = CreateInvitationRequest {
        email: "new@example.com".into(),
        role: Role::Viewer as i32,
    };
    let invitation = owner
        .client
        .org()
        .create_invitation(with_request_id(invite, "req-invite"))
        .await
        .unwrap();
    let invitation_id = invitation.into_inner().invitation.unwrap().id;
    let demote = UpdateMemberRoleRequest {
        user_id: team.member.id.clone(),
        role: Role::Viewer as i32,
    };
    owner
        .client
        .org()
        .update_member_role(with_request_id(demote, "req-role"))
        .await
        .unwrap();
    let remove = RemoveMemberRequest {
        user_id: team.viewer.id.clone(),
    };
    owner
        .client
        .org()
        .remove_member(with_request_id(remove, "req-remove"))
        .await
        .unwrap();

    let all = events(owner).await;
    assert_eq!(all.len(), before + 4, "one event per mutation");
    // Newest first.
    let expected = [
        (
            "org.member.removed",
            "user",
            team.viewer.id.as_str(),
            "req-remove",
            r#"{"role":"viewer"}"#,
        ),
        (
            "org.member.role_updated",
            "user",
            team.member.id.as_str(),
            "req-role",
            r#"{"from":"member","to":"viewer"}"#,
        ),
        (
            "org.invitation.created",
            "invitation",
            invitation_id.as_str(),
            "req-invite",
            r#"{"email":"new@example.com","role":"viewer"}"#,
        ),
        (
            "org.updated",
            "organization",
            team.org.id.as_str(),
            "req-update",
            r#"{"name":"Acme Inc."}"#,
        ),
    ];
    for (event, (action, target_type, target_id, request_id, details)) in all.iter().zip(expected) {
        assert_eq!(event.action, action);
        assert_eq!(
            (event.target_type.as_str(), event.target_id.as_str()),
            (target_type, target_id)
        );
        assert_eq!(event.request_id, request_id);
        assert_eq!(event.actor_type, ActorType::User as i32);
        assert_eq!(event.actor_id, owner.id);
        assert_eq!(event.outcome, Outcome::Success as i32);
        assert_eq!(event.client_ip, "127.0.0.1");
        assert!(event.user_agent.contains("tonic"), "{}", event.user_agent);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&event.details_json).unwrap(),
            serde_json::from_str::<serde_json::Value>(details).unwrap()
        );
    }
    let sequences: Vec<i64> = all.iter().map(|e| e.sequence).collect();
    assert!(
        sequences.windows(2).all(|w| w[0] == w[1] + 1),
        "{sequences:?}"
    );
}

async fn a_refused_mutation_writes_nothing(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let before = events(&team.owner).await;
    let last_owner_steps_down = UpdateMemberRoleRequest {
        user_id: team.owner.id.clone(),
        role: Role::Admin as i32,
    };
    assert_code(
        team.owner
            .client
            .org()
            .update_member_role(last_owner_steps_down)
            .await,
        Code::FailedPrecondition,
    );
    let invalid = CreateInvitationRequest {
        email: "nope".into(),
        role: Role::Viewer as i32,
    };
    assert_code(
        team.owner.client.org().create_invitation(invalid).await,
        Code::InvalidArgument,
    );
    assert_eq!(events(&team.owner).await, before);
}

async fn the_log_is_filtered_paged_and_exported(backend: Backend) {
    let app = TestApp::start(backend).await;
    let team = app.team("acme").await;
    let admin = &team.admin;
    for n in 0..5 {
        admin
            .invite(&format!("guest{n}@example.com"), Role::Viewer)
            .await;
    }
    let filtered =
        |filter: AuditEventFilter, page_size: i32, page_token: String| ListAuditEventsRequest {
            filter: Some(filter),
            page_size,
            page_token,
        };
    let invitations = AuditEventFilter {
        action_prefix: "org.invitation.cr".into(),
        actor_id: admin.id.clone(),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = admin
            .client
            .audit()
            .list_audit_events(filtered(invitations.clone(), 2, token))
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.events);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen.len(), 5);
    assert!(
        seen.iter()
            .all(|e| e.action == "org.invitation.created" && e.actor_id == admin.id)
    );
    // `%` and `_` in a prefix are literal text.
    let literal = AuditEventFilter {
        action_prefix: "org%".into(),
        ..Default::default()
    };
    let none = admin
        .client
        .audit()
        .list_audit_events(filtered(literal, 10, String::new()))
        .await
        .unwrap();
    assert!(none.into_inner().events.is_empty());
    // A time window that ends before everything.
    let early = AuditEventFilter {
        end_time: Some(prost_types::Timestamp {
            seconds: 0,
            nanos: 0,
        }),
        ..Default::default()
    };
    let none = admin
        .client
        .audit()
        .list_audit_events(filtered(early, 10, String::new()))
        .await
        .unwrap();
    assert!(none.into_inner().events.is_empty());
    // Text no database stores, a time past year 9999 and a forged page
    // token are the caller's mistakes, named field by field.
    let forged = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"["1","\u0000"]"#)
    };
    let bad = AuditEventFilter {
        actor_id: "a\0b".into(),
        target_id: "\0".into(),
        start_time: Some(prost_types::Timestamp {
            seconds: 400_000_000_000,
            nanos: 0,
        }),
        ..Default::default()
    };
    let status = assert_code(
        admin
            .client
            .audit()
            .list_audit_events(filtered(bad, 10, String::new()))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(
        field_violations(&status),
        vec!["filter.actor_id", "filter.target_id", "filter.start_time"]
    );
    let status = assert_code(
        admin
            .client
            .audit()
            .list_audit_events(filtered(AuditEventFilter::default(), 10, forged))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(field_violations(&status), vec!["page_token"]);

    // Export streams everything oldest first, and resumes after a sequence.
    let export = |after_sequence| ExportAuditEventsRequest {
        filter: None,
        after_sequence,
    };
    let mut stream = admin
        .client
        .audit()
        .export_audit_events(export(0))
        .await
        .unwrap()
        .into_inner();
    let mut exported = Vec::new();
    while let Some(message) = stream.message().await.unwrap() {
        exported.push(message.event.unwrap());
    }
    let all = events(admin).await;
    assert_eq!(exported.len(), all.len());
    assert!(
        exported
            .windows(2)
            .all(|w| w[0].sequence + 1 == w[1].sequence)
    );
    let mut resumed = admin
        .client
        .audit()
        .export_audit_events(export(3))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        resumed
            .message()
            .await
            .unwrap()
            .unwrap()
            .event
            .unwrap()
            .sequence,
        4
    );
}

on_both_backends!(
    each_mutation_writes_exactly_one_event,
    a_refused_mutation_writes_nothing,
    the_log_is_filtered_paged_and_exported,
);
