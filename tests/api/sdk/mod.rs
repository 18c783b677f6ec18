//! The Rust SDK (`tenantry-client`) against real servers: its credentials,
//! retries, file helpers and paginators, used as a program would.

mod credentials;
mod files;
mod pages;
mod retries;
