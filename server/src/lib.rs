//! Tenantry's server: a gRPC-first multi-tenant SaaS backend.
//!
//! The binary (`tenantry-server`) parses a [`Config`] and calls
//! [`Server::build`] then [`Server::serve`]; tests and benchmarks do the same
//! in-process with a [`ManualClock`](clock::ManualClock).

pub mod access;
pub mod audit;
pub mod auth;
pub mod blob;
pub mod clock;
pub mod config;
pub mod connections;
pub mod context;
pub mod crypto;
pub mod db;
pub mod error;
pub mod files;
mod handshake;
mod health;
pub mod housekeeping;
pub mod ids;
pub mod jobs;
pub mod layers;
pub mod mail;
pub mod ops;
pub mod org;
pub mod paging;
mod server;
pub mod service_accounts;
mod side_door;
pub mod sso;
pub mod state;
pub mod tls;
pub mod validate;

pub use config::Config;
pub use server::Server;
