//! The audit log: every mutation writes one event in its own transaction;
//! each organization's events form a hash chain.

pub mod chain;
pub mod record;
// pub mod service;

pub use record::{Actor, Event, record};
