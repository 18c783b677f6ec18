//! Delivery to an SMTP relay (`lettre`): STARTTLS or implicit TLS (rustls,
//! the system's roots plus an optional private CA), optional PLAIN/LOGIN
//! authentication, one connection per message.

use lettre::{
    Address, AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor,
    address::Envelope,
    transport::smtp::{
        authentication::Credentials,
        client::{Certificate, Tls, TlsParameters},
    },
};

use crate::config::{MailConfig, SmtpTls};

pub struct Relay {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

/// Why a message was not delivered.
pub enum Refused {
    /// The relay said no for good (5xx): retrying cannot help.
    Permanent(String),
    /// Down, slow or busy (4xx, no connection, a timeout): try again later.
    Transient(String),
}

impl Relay {
    pub fn new(config: &MailConfig, host: &str) -> anyhow::Result<Self> {
        let port = config.smtp_port.unwrap_or(match config.smtp_tls {
            SmtpTls::Starttls => 587,
            SmtpTls::Implicit => 465,
            SmtpTls::None => 25,
        });
        let tls = match config.smtp_tls {
            SmtpTls::Starttls => Tls::Required(tls_parameters(config, host)?),
            SmtpTls::Implicit => Tls::Wrapper(tls_parameters(config, host)?),
            SmtpTls::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .tls(tls)
            .timeout(Some(config.smtp_timeout));
        match (&config.smtp_username, &config.smtp_password) {
            (Some(user), Some(password)) => {
                builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
            }
            (None, None) => {}
            _ => anyhow::bail!("--smtp-username and --smtp-password go together"),
        }
        Ok(Self {
            transport: builder.build(),
        })
    }

    /// Sends one rendered message from `from` to `to` (bare addresses).
    pub async fn send(&self, from: &str, to: &str, message: &[u8]) -> Result<(), Refused> {
        let parse = |text: &str| {
            text.parse::<Address>()
                .map_err(|e| Refused::Permanent(format!("bad address {text:?}: {e}")))
        };
        let envelope = Envelope::new(Some(parse(from)?), vec![parse(to)?])
            .map_err(|e| Refused::Permanent(e.to_string()))?;
        match self.transport.send_raw(&envelope, message).await {
            Ok(_) => Ok(()),
            Err(err) if err.is_permanent() => Err(Refused::Permanent(err.to_string())),
            Err(err) => Err(Refused::Transient(err.to_string())),
        }
    }
}

fn tls_parameters(config: &MailConfig, host: &str) -> anyhow::Result<TlsParameters> {
    let mut builder = TlsParameters::builder(host.to_owned());
    if let Some(path) = &config.smtp_ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("cannot read --smtp-ca-file {}: {e}", path.display()))?;
        builder = builder.add_root_certificate(Certificate::from_pem(&pem)?);
    }
    Ok(builder.build_rustls()?)
}
