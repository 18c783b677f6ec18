//! The real servers Tenantry's tests run beside it, kept apart from the
//! test harness so the server's own integration tests (which run its
//! binary) can use them too: a throwaway PostgreSQL cluster ([`postgres`])
//! and an S3-protocol server ([`s3`]).

pub mod postgres;
pub mod s3;
