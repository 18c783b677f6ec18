//! Writing an event: inside the mutation's transaction, appended to the
//! organization's chain.

use chrono::NaiveDateTime;
use diesel::{ExpressionMethods as _, QueryDsl as _, RunQueryDsl as _};

use super::{Action, chain};
use crate::{
    context::RequestMeta,
    db::{Tenant, rows::AuditEventRow, schema::organizations},
    error::ApiResult,
};

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User(String),
    /// A service account of the organization.
    ServiceAccount(String),
    /// The server itself (jobs, provisioning).
    System,
    /// Someone not signed in (a failed sign-in).
    Anonymous,
}

impl Actor {
    /// A verified caller: a person or a service account.
    pub fn of(caller: &crate::context::Caller) -> Self {
        let id = caller.user_id().to_string();
        if caller.is_service() {
            Actor::ServiceAccount(id)
        } else {
            Actor::User(id)
        }
    }
}

/// One audit event, before it is chained.
#[derive(Debug, Clone)]
pub struct Event {
    pub actor: Actor,
    pub action: Action,
    pub target_type: &'static str,
    pub target_id: String,
    pub success: bool,
    /// What changed; never secrets.
    pub details: serde_json::Value,
}

impl Event {
    pub fn new(
        actor: Actor,
        action: Action,
        target_type: &'static str,
        target_id: impl Into<String>,
    ) -> Self {
        Self {
            actor,
            action,
            target_type,
            target_id: target_id.into(),
            success: true,
            details: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    pub fn by_user(
        user_id: &str,
        action: Action,
        target_type: &'static str,
        target_id: impl Into<String>,
    ) -> Self {
        Self::new(
            Actor::User(user_id.to_owned()),
            action,
            target_type,
            target_id,
        )
    }

    /// An event caused by a verified caller: a person or a service account.
    pub fn by(
        caller: &crate::context::Caller,
        action: Action,
        target_type: &'static str,
        target_id: impl Into<String>,
    ) -> Self {
        Self::new(Actor::of(caller), action, target_type, target_id)
    }

    pub fn failed(mut self) -> Self {
        self.success = false;
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// Appends `event` to the chain of the tenant's organization. The update of
/// the chain head locks the organization row (PostgreSQL) or the database
/// (SQLite) until commit, so concurrent events get consecutive numbers.
pub fn record(
    t: &mut Tenant<'_>,
    now: NaiveDateTime,
    meta: &RequestMeta,
    event: Event,
) -> ApiResult<()> {
    let org_id = t.org_id().to_owned();
    let (seq, prev_hash): (i64, String) = diesel::update(organizations::table.find(&org_id))
        .set(organizations::audit_seq.eq(organizations::audit_seq + 1))
        .returning((organizations::audit_seq, organizations::audit_head))
        .get_result(t.conn())?;
    let (actor_type, actor_id) = match event.actor {
        Actor::User(id) => ("user", id),
        Actor::ServiceAccount(id) => ("service_account", id),
        Actor::System => ("system", String::new()),
        Actor::Anonymous => ("anonymous", String::new()),
    };
    let mut row = AuditEventRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_id: org_id.clone(),
        seq,
        occurred_at: now,
        actor_type: actor_type.to_owned(),
        actor_id,
        action: event.action.as_str().to_owned(),
        target_type: event.target_type.to_owned(),
        target_id: event.target_id,
        outcome: if event.success { "success" } else { "failure" }.to_owned(),
        request_id: meta.request_id.clone(),
        client_ip: meta.client_ip.clone(),
        user_agent: meta.user_agent.clone(),
        details: event.details.to_string(),
        prev_hash,
        hash: String::new(),
    };
    row.hash = chain::event_hash(&row);
    t.insert_audit_events().values(&row).execute(t.conn())?;
    diesel::update(organizations::table.find(&org_id))
        .set(organizations::audit_head.eq(&row.hash))
        .execute(t.conn())?;
    Ok(())
}
