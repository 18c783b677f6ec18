//! Outgoing mail: to a folder (the default) or to an SMTP relay.

use std::{path::PathBuf, time::Duration};

use clap::{Args, ValueEnum};

use super::parse_duration;

#[derive(Debug, Clone, Args)]
pub struct MailConfig {
    /// Folder where outgoing mail is written as `.eml` files (one per
    /// message) when no SMTP relay is set. Default: `<data-dir>/mail`.
    #[arg(long, env = "TENANTRY_MAIL_DIR")]
    pub mail_dir: Option<PathBuf>,

    /// SMTP relay host. When set, mail goes there (through the job queue,
    /// retried with backoff) instead of the folder.
    #[arg(long, env = "TENANTRY_SMTP_HOST")]
    pub smtp_host: Option<String>,

    /// SMTP relay port. Default: 587 for `starttls`, 465 for `implicit`,
    /// 25 for `none`.
    #[arg(long, env = "TENANTRY_SMTP_PORT")]
    pub smtp_port: Option<u16>,

    /// How the connection to the relay is protected: `starttls` (upgrade
    /// required), `implicit` (TLS from the first byte, "SMTPS"), or `none`
    /// (plain text: only for a relay on the same host or network).
    #[arg(
        long,
        env = "TENANTRY_SMTP_TLS",
        value_enum,
        default_value = "starttls"
    )]
    pub smtp_tls: SmtpTls,

    /// User name for SMTP authentication (PLAIN or LOGIN, over TLS).
    #[arg(long, env = "TENANTRY_SMTP_USERNAME")]
    pub smtp_username: Option<String>,

    /// Password for SMTP authentication (prefer the environment variable).
    #[arg(long, env = "TENANTRY_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,

    /// PEM file of a certificate authority to trust for the relay, besides
    /// the system's roots (a relay with a private CA).
    #[arg(long, env = "TENANTRY_SMTP_CA_FILE")]
    pub smtp_ca_file: Option<PathBuf>,

    /// How long one delivery attempt to the relay may take.
    #[arg(long, env = "TENANTRY_SMTP_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub smtp_timeout: Duration,

    /// The sender of every mail (RFC 5322 mailbox).
    #[arg(
        long,
        env = "TENANTRY_MAIL_FROM",
        default_value = "Tenantry <no-reply@tenantry.invalid>"
    )]
    pub mail_from: String,

    /// Mail people a notice when their account is signed in to from an
    /// address it was never signed in from before.
    #[arg(long, env = "TENANTRY_MAIL_NEW_SIGN_IN", default_value_t = true, action = clap::ArgAction::Set)]
    pub mail_new_sign_in: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SmtpTls {
    Starttls,
    Implicit,
    None,
}
