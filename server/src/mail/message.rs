//! A mail as RFC 5322 text: `multipart/alternative` with a plain-text part
//! first and an HTML part second (readers show the last one they can), both
//! UTF-8 in 8 bits. The same text goes into the folder and to the relay.

use base64::{Engine as _, engine::general_purpose::STANDARD};

use super::Mail;

/// The whole message, CRLF line ends. `id` names it (`Message-ID`, the
/// MIME boundary) and stays the same across delivery attempts.
pub fn render(from: &str, mail: &Mail, id: &str, date: chrono::DateTime<chrono::Utc>) -> String {
    let boundary = format!("tenantry-{id}");
    let headers = [
        format!("From: {from}"),
        format!("To: <{}>", mail.to),
        format!("Subject: {}", encode_header(&mail.subject)),
        format!("Date: {}", date.to_rfc2822()),
        format!("Message-ID: <{id}@tenantry>"),
        "MIME-Version: 1.0".to_owned(),
        format!("Content-Type: multipart/alternative; boundary=\"{boundary}\""),
    ];
    let mut out = headers.join("\r\n");
    out.push_str("\r\n\r\n");
    for (kind, body) in [("plain", &mail.text), ("html", &mail.html)] {
        out.push_str(&format!(
            "--{boundary}\r\nContent-Type: text/{kind}; charset=utf-8\r\n\
             Content-Transfer-Encoding: 8bit\r\n\r\n{}\r\n",
            crlf(body)
        ));
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    out
}

/// A header value as is when it is printable ASCII, else as an RFC 2047
/// encoded word (an organization's name in a subject may be any text).
fn encode_header(value: &str) -> String {
    if value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return value.to_owned();
    }
    format!("=?utf-8?b?{}?=", STANDARD.encode(value))
}

/// Bare `\n` line ends as CRLF (SMTP and RFC 5322 want CRLF).
fn crlf(body: &str) -> String {
    body.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// The address alone of a mailbox (`Name <a@b>` or `a@b`), for the SMTP
/// envelope.
pub fn address_of(mailbox: &str) -> &str {
    match (mailbox.rfind('<'), mailbox.rfind('>')) {
        (Some(start), Some(end)) if start < end => mailbox[start + 1..end].trim(),
        _ => mailbox.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail() -> Mail {
        Mail {
            to: "ann@example.com".into(),
            subject: "Invitation à Zürich".into(),
            text: "Token: abc\nbye".into(),
            html: "<p>bye</p>".into(),
        }
    }

    #[test]
    fn parts_come_text_then_html_with_crlf() {
        let text = render("T <t@x.test>", &mail(), "id1", chrono::Utc::now());
        let plain = text.find("text/plain").unwrap();
        let html = text.find("text/html").unwrap();
        assert!(plain < html);
        assert!(text.contains("\r\nTo: <ann@example.com>\r\n"));
        assert!(text.contains("\r\nToken: abc\r\nbye\r\n"));
        assert!(text.ends_with("--tenantry-id1--\r\n"));
        assert!(!text.replace("\r\n", "").contains('\n'));
    }

    #[test]
    fn non_ascii_subjects_are_encoded_words() {
        let text = render("t@x.test", &mail(), "id1", chrono::Utc::now());
        let subject = text.lines().find(|l| l.starts_with("Subject: ")).unwrap();
        assert!(subject.starts_with("Subject: =?utf-8?b?"), "{subject}");
        assert!(subject.is_ascii());
    }

    #[test]
    fn envelope_address_of_a_mailbox() {
        assert_eq!(address_of("Tenantry <no-reply@x.test>"), "no-reply@x.test");
        assert_eq!(address_of("a@b.test"), "a@b.test");
    }
}
