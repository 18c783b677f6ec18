//! The audit log: every mutation writes one event in its own transaction;
//! each organization's events form a hash chain.

pub mod chain;
mod query;
pub mod record;
pub mod service;
mod verify;

pub use record::{Actor, Event, record};
pub use service::AuditApi;
