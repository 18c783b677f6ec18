//! Audit log commands.

use clap::Subcommand;
use futures::{StreamExt as _, TryStreamExt as _};
use tenantry_client::audit::v1::{
    ActorType, AuditEvent, AuditEventFilter, ExportAuditEventsRequest, ListAuditEventsRequest,
    VerifyAuditChainRequest,
};

use crate::{profile::Session, show};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recent events, newest first.
    List {
        /// Only actions starting with this, e.g. `org.member.`.
        #[arg(long, default_value = "")]
        action: String,
        /// How many (the newest).
        #[arg(long, default_value_t = 20)]
        limit: i32,
    },
    /// Every event, oldest first, one JSON object per line (for a SIEM).
    Export {
        #[arg(long, default_value_t = 0)]
        after: i64,
    },
    /// Checks the hash chain.
    Verify,
}

pub async fn run(session: &mut Session, command: AuditCommand) -> anyhow::Result<()> {
    let tenantry = session.signed_in()?;
    let audit = tenantry.audit();
    match command {
        AuditCommand::List { action, limit } => {
            let filter = AuditEventFilter {
                action_prefix: action,
                ..Default::default()
            };
            let request = ListAuditEventsRequest {
                filter: Some(filter),
                page_size: limit.clamp(1, 100),
                page_token: String::new(),
            };
            let events = tenantry
                .list(request)
                .take(usize::try_from(limit).unwrap_or(0));
            let rows: Vec<_> = events.map_ok(|e| row(&e)).try_collect().await?;
            let columns = ["sequence", "time", "action", "actor", "target", "details"];
            show::list(session.output, &columns, &rows);
        }
        AuditCommand::Export { after } => {
            let mut stream = audit
                .clone()
                .export_audit_events(ExportAuditEventsRequest {
                    filter: None,
                    after_sequence: after,
                })
                .await?
                .into_inner();
            while let Some(message) = stream.message().await? {
                let e = message.event.unwrap_or_default();
                let line = serde_json::json!({
                    "sequence": e.sequence, "id": e.id, "time": show::time(e.time.as_ref()),
                    "actor_type": e.actor_type, "actor_id": e.actor_id, "action": e.action,
                    "target_type": e.target_type, "target_id": e.target_id, "outcome": e.outcome,
                    "request_id": e.request_id, "client_ip": e.client_ip, "user_agent": e.user_agent,
                    "details": serde_json::from_str::<serde_json::Value>(&e.details_json).unwrap_or_default(),
                    "hash": e.hash, "previous_hash": e.previous_hash,
                });
                println!("{line}");
            }
        }
        AuditCommand::Verify => {
            let v = audit
                .clone()
                .verify_audit_chain(VerifyAuditChainRequest {})
                .await?
                .into_inner();
            if v.intact {
                println!("intact: {} events checked", v.events_checked);
            } else {
                println!(
                    "BROKEN at event #{} ({}): {}",
                    v.first_broken_sequence, v.first_broken_event_id, v.reason
                );
                std::process::exit(2);
            }
        }
    }
    Ok(())
}

/// A row of `audit list`.
fn row(e: &AuditEvent) -> serde_json::Value {
    let actor = match ActorType::try_from(e.actor_type).unwrap_or(ActorType::Unspecified) {
        ActorType::User => e.actor_id.clone(),
        ActorType::ServiceAccount => format!("service account {}", e.actor_id),
        other => other
            .as_str_name()
            .trim_start_matches("ACTOR_TYPE_")
            .to_lowercase(),
    };
    serde_json::json!({
        "sequence": e.sequence,
        "time": show::time(e.time.as_ref()),
        "action": e.action,
        "actor": actor,
        "target": format!("{} {}", e.target_type, e.target_id).trim().to_owned(),
        "details": e.details_json,
    })
}
