//! Reading the log: filters shared by listing and export.

use chrono::NaiveDateTime;
use tenantry_proto::audit::v1 as pb;

use crate::{
    clock::{from_proto, to_proto},
    db::rows::AuditEventRow,
    error::{ApiResult, Violations},
};

/// A validated filter; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor_id: Option<String>,
    /// A LIKE pattern (`prefix%`, with `\` escaping).
    pub action_like: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub start: Option<NaiveDateTime>,
    pub end: Option<NaiveDateTime>,
}

const MAX_FIELD: usize = 200;

impl Filter {
    pub fn parse(filter: Option<pb::AuditEventFilter>) -> ApiResult<Self> {
        let filter = filter.unwrap_or_default();
        let mut violations = Violations::new();
        let mut text = |field: &str, value: String| {
            if value.len() > MAX_FIELD || value.chars().any(char::is_control) {
                violations.add(
                    format!("filter.{field}"),
                    format!("must be at most {MAX_FIELD} bytes, without control characters"),
                );
            }
            (!value.is_empty()).then_some(value)
        };
        let actor_id = text("actor_id", filter.actor_id);
        let action_prefix = text("action_prefix", filter.action_prefix);
        let target_type = text("target_type", filter.target_type);
        let target_id = text("target_id", filter.target_id);
        let mut time = |field: &str, value: Option<prost_types::Timestamp>| {
            let value = value?;
            let parsed = from_proto(&value);
            if parsed.is_none() {
                violations.add(format!("filter.{field}"), "is not a valid time");
            }
            parsed
        };
        let start = time("start_time", filter.start_time);
        let end = time("end_time", filter.end_time);
        violations.finish()?;
        Ok(Self {
            actor_id,
            action_like: action_prefix.map(|p| format!("{}%", escape_like(&p))),
            target_type,
            target_id,
            start,
            end,
        })
    }
}

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Applies a [`Filter`] to a boxed query of the tenant's events.
macro_rules! apply_filter {
    ($query:expr, $filter:expr) => {{
        use diesel::{
            EscapeExpressionMethods as _, ExpressionMethods as _, TextExpressionMethods as _,
        };
        use $crate::db::schema::audit_events as col;
        let mut query = $query;
        let filter = $filter;
        if let Some(v) = &filter.actor_id {
            query = query.filter(col::actor_id.eq(v.clone()));
        }
        if let Some(v) = &filter.action_like {
            query = query.filter(col::action.like(v.clone()).escape('\\'));
        }
        if let Some(v) = &filter.target_type {
            query = query.filter(col::target_type.eq(v.clone()));
        }
        if let Some(v) = &filter.target_id {
            query = query.filter(col::target_id.eq(v.clone()));
        }
        if let Some(v) = filter.start {
            query = query.filter(col::occurred_at.ge(v));
        }
        if let Some(v) = filter.end {
            query = query.filter(col::occurred_at.lt(v));
        }
        query
    }};
}
pub(crate) use apply_filter;

pub fn to_proto_event(row: &AuditEventRow) -> pb::AuditEvent {
    let actor_type = match row.actor_type.as_str() {
        "user" => pb::ActorType::User,
        "system" => pb::ActorType::System,
        "anonymous" => pb::ActorType::Anonymous,
        "service_account" => pb::ActorType::ServiceAccount,
        _ => pb::ActorType::Unspecified,
    };
    let outcome = match row.outcome.as_str() {
        "success" => pb::Outcome::Success,
        "failure" => pb::Outcome::Failure,
        _ => pb::Outcome::Unspecified,
    };
    pb::AuditEvent {
        id: row.id.clone(),
        sequence: row.seq,
        time: Some(to_proto(row.occurred_at)),
        actor_type: actor_type as i32,
        actor_id: row.actor_id.clone(),
        action: row.action.clone(),
        target_type: row.target_type.clone(),
        target_id: row.target_id.clone(),
        outcome: outcome as i32,
        request_id: row.request_id.clone(),
        client_ip: row.client_ip.clone(),
        user_agent: row.user_agent.clone(),
        details_json: row.details.clone(),
        previous_hash: row.prev_hash.clone(),
        hash: row.hash.clone(),
    }
}
