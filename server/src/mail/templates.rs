//! What Tenantry mails, each as text and HTML from one list of blocks, so
//! the two parts always say the same. A token stands on a line of its own
//! in the text part (`Reset token: pr_…`), where a person copies it from
//! and a program finds it; every value is escaped in the HTML part.

use std::time::Duration;

use super::Mail;

enum Block {
    Text(String),
    /// A token to copy, with its label.
    Token(&'static str, String),
}

use Block::{Text, Token};

fn compose(to: &str, subject: &str, blocks: &[Block]) -> Mail {
    let mut text = String::new();
    let mut html = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n\
         <body style=\"font-family: sans-serif; line-height: 1.5\">\n",
        escape(subject)
    );
    for block in blocks {
        match block {
            Text(paragraph) => {
                text.push_str(&format!("{paragraph}\n\n"));
                html.push_str(&format!("<p>{}</p>\n", escape(paragraph)));
            }
            Token(label, value) => {
                text.push_str(&format!("{label}: {value}\n\n"));
                // Worded apart from the text's `Label: value` line, so a
                // program that looks for that line finds it only once.
                html.push_str(&format!(
                    "<p>Copy this {} into your application</p>\n\
                     <p><code style=\"font-size: 1.2em\">{}</code></p>\n",
                    escape(&label.to_lowercase()),
                    escape(value)
                ));
            }
        }
    }
    html.push_str("</body></html>\n");
    Mail {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text,
        html,
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn lasting(ttl: Duration) -> String {
    humantime::format_duration(ttl).to_string()
}

pub fn email_verification(to: &str, token: &str, ttl: Duration) -> Mail {
    compose(
        to,
        "Confirm your email address",
        &[
            Text("Confirm your email address for Tenantry.".into()),
            Token("Verification token", token.into()),
            Text(format!(
                "Your application passes it to VerifyEmail. It expires in {}.",
                lasting(ttl)
            )),
        ],
    )
}

pub fn invitation(to: &str, org_name: &str, role: &str, token: &str) -> Mail {
    compose(
        to,
        "You are invited",
        &[
            Text(format!(
                "You are invited to join {org_name} on Tenantry as {role}."
            )),
            Token("Invitation token", token.into()),
            Text("Sign in with this address and pass the token to AcceptInvitation.".into()),
        ],
    )
}

pub fn password_reset(to: &str, token: &str, ttl: Duration) -> Mail {
    compose(
        to,
        "Reset your password",
        &[
            Text("Someone asked to reset the password of your Tenantry account.".into()),
            Token("Reset token", token.into()),
            Text(format!(
                "Your application passes it to ResetPassword with the new password. \
                 It works once and expires in {}; every session of the account ends.",
                lasting(ttl)
            )),
            Text("If it was not you, ignore this mail: your password stays as it is.".into()),
        ],
    )
}

/// The answer to a reset asked for an address without an account (it gets
/// a mail too, so the request tells the asker nothing).
pub fn no_account(to: &str) -> Mail {
    compose(
        to,
        "Reset your password",
        &[
            Text(
                "Someone asked to reset the password of a Tenantry account with this \
                 email address, but there is no account with it."
                    .into(),
            ),
            Text("If it was you, perhaps you signed up with another address.".into()),
            Text("If it was not you, ignore this mail.".into()),
        ],
    )
}

pub fn new_sign_in(to: &str, when: &str, address: &str, user_agent: &str) -> Mail {
    let agent = if user_agent.is_empty() {
        "unknown"
    } else {
        user_agent
    };
    compose(
        to,
        "New sign-in to your account",
        &[
            Text(format!(
                "Your Tenantry account was signed in to from an address it was not \
                 signed in from before: {address}, at {when} (UTC), with {agent}."
            )),
            Text(
                "If it was you, there is nothing to do. If not, reset your password \
                 (RequestPasswordReset): that ends every session of the account."
                    .into(),
            ),
        ],
    )
}

pub fn sso_link_request(to: &str, issuer: &str, token: &str, ttl: Duration) -> Mail {
    compose(
        to,
        "Link your account to single sign-on?",
        &[
            Text(format!(
                "Someone signed in through the identity provider {issuer} with this \
                 email address and asked to link it to your Tenantry account."
            )),
            Text(
                "If that was you, confirm the link: your application passes this \
                 token to ConfirmSsoLink as `email_token`."
                    .into(),
            ),
            Token("Confirmation token", token.into()),
            Text(format!(
                "If it was not you, ignore this mail: nothing is linked without it or \
                 your password. It expires in {}.",
                lasting(ttl)
            )),
        ],
    )
}

pub fn sso_linked(to: &str) -> Mail {
    compose(
        to,
        "Single sign-on was linked to your account",
        &[Text(
            "An identity of your organization's single sign-on was linked to your \
             Tenantry account, after you confirmed it. You can see and unlink your \
             identities with ListMyIdentities and UnlinkIdentity."
                .into(),
        )],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_stand_on_their_own_line_in_text_only() {
        let mail = password_reset("a@x.test", "pr_abc", Duration::from_secs(1800));
        assert!(mail.text.lines().any(|l| l == "Reset token: pr_abc"));
        assert!(!mail.html.to_lowercase().contains("reset token:"));
        assert!(
            mail.html
                .contains("<code style=\"font-size: 1.2em\">pr_abc</code>")
        );
        assert!(mail.text.contains("30m"));
    }

    #[test]
    fn values_are_escaped_in_html() {
        let mail = invitation("a@x.test", "<b>Acme</b> & Co", "admin", "inv_1");
        assert!(mail.html.contains("&lt;b&gt;Acme&lt;/b&gt; &amp; Co"));
        assert!(mail.text.contains("<b>Acme</b> & Co"));
    }
}
