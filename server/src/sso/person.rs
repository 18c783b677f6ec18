//! What a verified provider answer says about the person, and whether the
//! organization's rules let that person in at all (pure: no database).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::settings::Settings;
use crate::{access::Role, validate};

/// What the provider said about the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    pub groups: Vec<String>,
    /// The provider reported a second factor in `amr` (RFC 8176).
    #[serde(default)]
    pub multi_factor: bool,
}

/// `amr` values (RFC 8176) that mean more than a password: an explicit
/// "mfa", a one-time code, a hardware or software key, a smart card, or a
/// proof of possession of a key.
const MULTI_FACTOR_AMR: [&str; 6] = ["mfa", "otp", "hwk", "swk", "sc", "pop"];

/// Why the rules refuse a person, with the reason the audit log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub reason: &'static str,
    pub message: &'static str,
}

impl Person {
    /// Reads the claims the organization's settings name. `email_verified`
    /// may come as a JSON boolean or as the string "true" / "false".
    pub fn from_claims(claims: &Value, settings: &Settings) -> Self {
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        let groups = match claims.get(&settings.claim_groups) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        };
        let email_verified = match claims.get("email_verified") {
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) => Some(s.eq_ignore_ascii_case("true")),
            _ => None,
        };
        let multi_factor = claims
            .get("amr")
            .and_then(Value::as_array)
            .is_some_and(|amr| {
                amr.iter()
                    .filter_map(Value::as_str)
                    .any(|m| MULTI_FACTOR_AMR.contains(&m))
            });
        Person {
            subject: text("sub").unwrap_or_default(),
            email: text(&settings.claim_email),
            email_verified,
            name: text(&settings.claim_name),
            groups,
            multi_factor,
        }
    }

    /// The normalized email of a person the rules admit. A missing
    /// `email_verified` counts as verified (Entra ID never sends it).
    pub fn admitted_email(&self, settings: &Settings) -> Result<String, Refusal> {
        let Some(email) = self
            .email
            .as_deref()
            .and_then(|e| validate::normalize_email(e).ok())
        else {
            return Err(Refusal {
                reason: "no_email",
                message: "the identity provider sent no usable email address",
            });
        };
        if self.subject.is_empty() {
            return Err(Refusal {
                reason: "no_subject",
                message: "the identity provider sent no subject",
            });
        }
        if self.email_verified == Some(false) {
            return Err(Refusal {
                reason: "email_unverified",
                message: "the identity provider has not verified this email address",
            });
        }
        if !settings.domain_allowed(&email) {
            return Err(Refusal {
                reason: "domain_not_allowed",
                message: "this email domain may not sign in to this organization",
            });
        }
        Ok(email)
    }

    /// The role the groups claim maps to (else the default), never above
    /// ADMIN: a provider never makes an owner.
    pub fn role(&self, settings: &Settings) -> Role {
        settings
            .mapped_role(&self.groups)
            .unwrap_or(settings.default_role)
            .min(Role::Admin)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_second_factor_comes_from_amr() {
        let with = |amr: serde_json::Value| {
            Person::from_claims(&json!({ "sub": "s", "amr": amr }), &settings()).multi_factor
        };
        assert!(with(json!(["pwd", "mfa"])));
        assert!(with(json!(["pwd", "otp"])));
        assert!(with(json!(["hwk"])));
        assert!(!with(json!(["pwd"])));
        assert!(!with(json!("mfa")), "amr is an array");
        assert!(!Person::from_claims(&json!({ "sub": "s" }), &settings()).multi_factor);
    }

    fn settings() -> Settings {
        Settings {
            allowed_domains: vec!["acme.test".into()],
            default_role: Role::Viewer,
            group_roles: vec![
                ("admins".into(), Role::Admin),
                ("owners".into(), Role::Owner),
            ],
            sync_every_login: true,
            ..Settings::default()
        }
    }

    fn verdict(claims: Value) -> Result<String, &'static str> {
        Person::from_claims(&claims, &settings())
            .admitted_email(&settings())
            .map_err(|r| r.reason)
    }

    #[test]
    fn the_rules_admit_or_refuse_a_person() {
        let cases = [
            (
                json!({"sub": "s", "email": "A@acme.test"}),
                Ok("A@acme.test"),
            ),
            (
                json!({"sub": "s", "email": "a@acme.test", "email_verified": true}),
                Ok("a@acme.test"),
            ),
            (
                json!({"sub": "s", "email": "a@acme.test", "email_verified": "true"}),
                Ok("a@acme.test"),
            ),
            (
                json!({"sub": "s", "email": "a@acme.test", "email_verified": "false"}),
                Err("email_unverified"),
            ),
            (
                json!({"sub": "s", "email": "a@acme.test", "email_verified": false}),
                Err("email_unverified"),
            ),
            (json!({"sub": "s"}), Err("no_email")),
            (
                json!({"sub": "s", "email": "not an address"}),
                Err("no_email"),
            ),
            (json!({"email": "a@acme.test"}), Err("no_subject")),
            (
                json!({"sub": "s", "email": "a@evilacme.test"}),
                Err("domain_not_allowed"),
            ),
            (
                json!({"sub": "s", "email": "a@sub.acme.test"}),
                Err("domain_not_allowed"),
            ),
        ];
        for (claims, expected) in cases {
            let expected = expected.map(str::to_owned);
            assert_eq!(verdict(claims.clone()), expected, "{claims}");
        }
    }

    #[test]
    fn roles_come_from_groups_and_stop_below_owner() {
        let role = |groups: Value| {
            Person::from_claims(&json!({ "sub": "s", "groups": groups }), &settings())
                .role(&settings())
        };
        assert_eq!(role(json!([])), Role::Viewer);
        assert_eq!(role(json!("admins")), Role::Admin);
        assert_eq!(role(json!(["owners"])), Role::Admin, "never an owner");
    }
}
