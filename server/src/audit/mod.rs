//! The audit log: every mutation writes one event in its own transaction;
//! each organization's events form a hash chain.

mod action;
pub mod chain;
mod query;
pub mod record;
pub mod service;
mod verify;

pub use action::Action;
pub use record::{Actor, Event, record};
pub use service::AuditApi;
