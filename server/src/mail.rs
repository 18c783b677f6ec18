//! Outgoing mail, written as RFC 5322 `.eml` files into a folder (one file a
//! message, written to a temporary name and renamed, so a reader never sees a
//! half message). A relay, a developer or a test picks them up from there.

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Mailer {
    dir: PathBuf,
    from: String,
}

impl Mailer {
    pub fn new(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            from: "Tenantry <no-reply@tenantry.invalid>".to_owned(),
        })
    }

    /// Queues a plain-text message. Call after the transaction that decided
    /// to send it has committed.
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> std::io::Result<()> {
        let id = uuid::Uuid::now_v7();
        let message = format!(
            "From: {}\r\nTo: <{to}>\r\nSubject: {subject}\r\nMessage-ID: <{id}@tenantry>\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
            self.from
        );
        let temp = self.dir.join(format!(".{id}.tmp"));
        let done = self.dir.join(format!("{id}.eml"));
        tokio::fs::write(&temp, message).await?;
        tokio::fs::rename(&temp, &done).await
    }
}
