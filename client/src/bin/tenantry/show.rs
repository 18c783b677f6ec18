//! How things look on a terminal.

use tenantry_client::{auth::v1::Role, tonic::Status, tonic_types::StatusExt as _};

pub fn role(value: i32) -> &'static str {
    match Role::try_from(value).unwrap_or(Role::Unspecified) {
        Role::Owner => "owner",
        Role::Admin => "admin",
        Role::Member => "member",
        Role::Viewer => "viewer",
        Role::Unspecified => "-",
    }
}

pub fn parse_role(text: &str) -> anyhow::Result<Role> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "owner" => Role::Owner,
        "admin" => Role::Admin,
        "member" => Role::Member,
        "viewer" => Role::Viewer,
        other => anyhow::bail!("unknown role {other:?}: owner, admin, member or viewer"),
    })
}

pub fn time(t: Option<&prost_types::Timestamp>) -> String {
    t.map_or_else(|| "-".into(), ToString::to_string)
}

/// A gRPC error with its field violations and retry hint, or any error.
pub fn error(err: &anyhow::Error) -> String {
    let Some(status) = err.chain().find_map(|e| e.downcast_ref::<Status>()) else {
        return format!("{err:#}");
    };
    let mut text = format!("{:?}: {}", status.code(), status.message());
    let details = status.get_error_details();
    if let Some(bad) = details.bad_request() {
        for v in &bad.field_violations {
            text.push_str(&format!("\n  {}: {}", v.field, v.description));
        }
    }
    if let Some(delay) = details.retry_info().and_then(|r| r.retry_delay) {
        text.push_str(&format!("\n  retry in {} s", delay.as_secs()));
    }
    text
}
