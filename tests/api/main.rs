//! Tenantry's API tests: each folder mirrors a service; every test runs on
//! SQLite and on PostgreSQL against real servers started in-process.

mod audit;
mod auth;
mod browser;
mod connections;
mod database_down;
mod files;
mod harness;
mod hostile_input;
mod housekeeping;
mod instances;
mod mail;
mod operate;
mod org;
mod protocol;
mod sdk;
mod server;
mod service_accounts;
mod sso;
mod tls;
mod uploads_held;
