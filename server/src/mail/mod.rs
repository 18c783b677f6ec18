//! Outgoing mail. Every message has a text and an HTML part
//! ([`templates`]). By default it is written as an `.eml` file into a
//! folder at once (renamed into place when complete, so a reader never sees
//! half a message). With an SMTP relay configured, it is written to the
//! outbox table instead and delivered by a `mail.send` job: retried with
//! backoff, so a slow or failing relay never slows the call that sent it,
//! and nothing is lost when this instance stops.

mod message;
mod relay;
pub mod templates;

use std::{path::PathBuf, sync::Arc};

use diesel::{OptionalExtension as _, QueryDsl as _, RunQueryDsl as _, SelectableHelper as _};

use crate::{
    clock::SharedClock,
    config::MailConfig,
    db::{Db, rows::MailRow, schema::mail_outbox},
    error::{ApiError, ApiResult},
    jobs::{self, Kind, Outcome},
};

/// One message to one person.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

enum Delivery {
    Folder(PathBuf),
    Relay(relay::Relay),
}

pub struct Mailer {
    from: String,
    delivery: Delivery,
    db: Db,
    clock: SharedClock,
    /// Tells this instance's job runner that a job is due now.
    wake: Arc<tokio::sync::Notify>,
}

/// Attempts before a message the relay keeps refusing for now is dropped
/// (with the job queue's backoff, about four hours).
const DELIVERY_ATTEMPTS: i64 = 8;

impl Mailer {
    pub fn new(
        config: &MailConfig,
        data_dir: &std::path::Path,
        db: Db,
        clock: SharedClock,
        wake: Arc<tokio::sync::Notify>,
    ) -> anyhow::Result<Self> {
        let from = config.mail_from.trim().to_owned();
        if !message::address_of(&from).contains('@') || from.contains(['\r', '\n']) {
            anyhow::bail!("--mail-from is not a mailbox: {from:?}");
        }
        let delivery = match &config.smtp_host {
            Some(host) => Delivery::Relay(relay::Relay::new(config, host)?),
            None => {
                let dir = config
                    .mail_dir
                    .clone()
                    .unwrap_or_else(|| data_dir.join("mail"));
                std::fs::create_dir_all(&dir)?;
                Delivery::Folder(dir)
            }
        };
        Ok(Self {
            from,
            delivery,
            db,
            clock,
            wake,
        })
    }

    /// Sends `mail`. Call after the transaction that decided to send it has
    /// committed. A failure is logged, not returned: the call that sent it
    /// has done its work (and the person can ask again).
    pub async fn send(&self, mail: Mail) {
        let sent = match &self.delivery {
            Delivery::Folder(dir) => self.write(dir, &mail).await,
            Delivery::Relay(_) => self.enqueue(mail.clone()).await,
        };
        if let Err(err) = sent {
            tracing::error!(error = %err, subject = %mail.subject, "could not send a mail");
        }
    }

    async fn write(&self, dir: &std::path::Path, mail: &Mail) -> ApiResult<()> {
        let id = uuid::Uuid::now_v7().to_string();
        let text = message::render(&self.from, mail, &id, self.clock.now());
        let temp = dir.join(format!(".{id}.tmp"));
        tokio::fs::write(&temp, text)
            .await
            .map_err(ApiError::internal)?;
        tokio::fs::rename(&temp, dir.join(format!("{id}.eml")))
            .await
            .map_err(ApiError::internal)
    }

    async fn enqueue(&self, mail: Mail) -> ApiResult<()> {
        let now = self.clock.now().naive_utc();
        let row = MailRow {
            id: uuid::Uuid::now_v7().to_string(),
            recipient: mail.to,
            subject: mail.subject,
            text_body: mail.text,
            html_body: mail.html,
            created_at: now,
        };
        self.db
            .write(move |tx| {
                diesel::insert_into(mail_outbox::table)
                    .values(&row)
                    .execute(tx.conn())?;
                jobs::enqueue(tx.conn(), Kind::SendMail, None, &row.id, now)
            })
            .await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Delivers the queued message `id` (the `mail.send` job). A transient
    /// refusal is an error, so the job queue tries again later.
    pub async fn deliver(&self, id: &str, attempts: i64) -> ApiResult<Outcome> {
        let key = id.to_owned();
        let row = self
            .db
            .read(move |tx| {
                Ok(mail_outbox::table
                    .find(&key)
                    .select(MailRow::as_select())
                    .first(tx.conn())
                    .optional()?)
            })
            .await?;
        let Some(row) = row else {
            return Ok(Outcome::Done);
        };
        let mail = Mail {
            to: row.recipient,
            subject: row.subject,
            text: row.text_body,
            html: row.html_body,
        };
        let delivered = match &self.delivery {
            // Queued while a relay was configured, and this instance has none.
            Delivery::Folder(dir) => self.write(dir, &mail).await.map_err(|e| e.to_string()),
            Delivery::Relay(relay) => self.relay(relay, &mail, id, attempts).await,
        };
        if let Err(message) = delivered {
            return Err(ApiError::Unavailable(message));
        }
        let key = id.to_owned();
        self.db
            .write(move |tx| Ok(diesel::delete(mail_outbox::table.find(&key)).execute(tx.conn())?))
            .await?;
        Ok(Outcome::Done)
    }

    /// Ok when the message is done with: delivered, or dropped for good.
    async fn relay(
        &self,
        relay: &relay::Relay,
        mail: &Mail,
        id: &str,
        attempts: i64,
    ) -> Result<(), String> {
        let text = message::render(&self.from, mail, id, self.clock.now());
        let from = message::address_of(&self.from);
        match relay.send(from, &mail.to, text.as_bytes()).await {
            Ok(()) => Ok(()),
            Err(relay::Refused::Permanent(why)) => {
                tracing::error!(error = %why, subject = %mail.subject, "the relay refused a mail for good: dropped");
                Ok(())
            }
            Err(relay::Refused::Transient(why)) if attempts + 1 >= DELIVERY_ATTEMPTS => {
                tracing::error!(error = %why, subject = %mail.subject, "a mail could not be delivered after {DELIVERY_ATTEMPTS} attempts: dropped");
                Ok(())
            }
            Err(relay::Refused::Transient(why)) => Err(why),
        }
    }
}
