//! An organization's SSO settings: checked when saved, stored as JSON beside
//! the provider's address and client id.

use serde::{Deserialize, Serialize};
use tenantry_proto::sso::v1 as pb;

use crate::{access::Role, error::Violations};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub scopes: Vec<String>,
    pub claim_email: String,
    pub claim_name: String,
    pub claim_groups: String,
    pub auto_provision: bool,
    /// Lowercased, exact.
    pub allowed_domains: Vec<String>,
    pub default_role: Role,
    /// (group, role)
    pub group_roles: Vec<(String, Role)>,
    pub sync_every_login: bool,
    pub redirect_uris: Vec<String>,
}

impl Settings {
    /// The highest role the groups map to, capped at ADMIN: single sign-on
    /// never makes an owner.
    pub fn mapped_role(&self, groups: &[String]) -> Option<Role> {
        self.group_roles
            .iter()
            .filter(|(group, _)| groups.iter().any(|g| g == group))
            .map(|(_, role)| *role)
            .max()
            .map(|role| role.min(Role::Admin))
    }

    /// Exact domain match after lowercasing (no suffix matching:
    /// `evilcompany.com` is not `company.com`).
    pub fn domain_allowed(&self, email: &str) -> bool {
        if self.allowed_domains.is_empty() {
            return true;
        }
        let Some((_, domain)) = email.rsplit_once('@') else {
            return false;
        };
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        self.allowed_domains.contains(&domain)
    }
}

/// The issuer, client id, enabled flag and settings of a config to save.
pub struct Checked {
    pub issuer_url: String,
    pub client_id: String,
    pub enabled: bool,
    pub settings: Settings,
}

fn role_field(value: i32, field: &str, violations: &mut Violations) -> Option<Role> {
    match Role::from_proto(value) {
        Some(Role::Owner) => {
            violations.add(
                field,
                "single sign-on never grants OWNER; use ADMIN at most",
            );
            None
        }
        Some(role) => Some(role),
        None => {
            violations.add(field, "must be VIEWER, MEMBER or ADMIN");
            None
        }
    }
}

fn url_field(raw: &str, field: &str, violations: &mut Violations) -> String {
    let trimmed = raw.trim();
    let ok = url::Url::parse(trimmed)
        .is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some());
    if !ok {
        violations.add(field, "must be an absolute http(s) URL");
    }
    trimmed.to_owned()
}

/// Scopes besides `openid` (always asked): single words; email and profile
/// when none are given.
fn scopes_field(scopes: &[String], violations: &mut Violations) -> Vec<String> {
    if scopes.is_empty() {
        return vec!["email".into(), "profile".into()];
    }
    let scopes: Vec<String> = scopes
        .iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| s != "openid")
        .collect();
    if scopes
        .iter()
        .any(|s| s.is_empty() || s.contains(char::is_whitespace))
    {
        violations.add("config.scopes", "must be single words");
    }
    scopes
}

/// Email domains, lowercased, without a trailing dot.
fn domains_field(domains: &[String], violations: &mut Violations) -> Vec<String> {
    let mut allowed = Vec::new();
    for domain in domains {
        let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        if domain.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
        {
            violations.add(
                "config.provisioning.allowed_email_domains",
                format!("{domain:?} is not a domain like company.com"),
            );
        } else {
            allowed.push(domain);
        }
    }
    allowed
}

/// The most entries an admin may give each list (the protos say so too).
pub const MAX_SCOPES: usize = 20;
pub const MAX_REDIRECT_URIS: usize = 20;
pub const MAX_DOMAINS: usize = 100;
pub const MAX_GROUP_ROLES: usize = 100;

/// Refuses a list over its cap before any entry is looked at.
fn lists_within_caps(config: &pb::SsoConfig, violations: &mut Violations) -> bool {
    let provisioning = config.provisioning.clone().unwrap_or_default();
    let lists = [
        ("config.scopes", config.scopes.len(), MAX_SCOPES),
        (
            "config.redirect_uris",
            config.redirect_uris.len(),
            MAX_REDIRECT_URIS,
        ),
        (
            "config.provisioning.allowed_email_domains",
            provisioning.allowed_email_domains.len(),
            MAX_DOMAINS,
        ),
        (
            "config.provisioning.group_roles",
            provisioning.group_roles.len(),
            MAX_GROUP_ROLES,
        ),
    ];
    let mut within = true;
    for (field, len, cap) in lists {
        if len > cap {
            violations.add(field, format!("at most {cap} entries ({len} given)"));
            within = false;
        }
    }
    within
}

pub fn check(config: Option<pb::SsoConfig>, violations: &mut Violations) -> Option<Checked> {
    let Some(config) = config else {
        violations.add("config", "is required");
        return None;
    };
    if !lists_within_caps(&config, violations) {
        return None;
    }
    let issuer_url = url_field(&config.issuer_url, "config.issuer_url", violations);
    let client_id = config.client_id.trim().to_owned();
    if client_id.is_empty() || client_id.len() > 255 {
        violations.add("config.client_id", "must be 1 to 255 characters");
    }
    let scopes = scopes_field(&config.scopes, violations);
    let claims = config.claims.unwrap_or_default();
    let claim = |value: &str, default: &str| {
        if value.trim().is_empty() {
            default.to_owned()
        } else {
            value.trim().to_owned()
        }
    };
    let provisioning = config.provisioning.unwrap_or_default();
    let allowed_domains = domains_field(&provisioning.allowed_email_domains, violations);
    let default_role = match provisioning.default_role {
        0 => Some(Role::Member),
        value => role_field(value, "config.provisioning.default_role", violations),
    };
    let mut group_roles = Vec::new();
    for mapping in &provisioning.group_roles {
        if mapping.group.trim().is_empty() {
            violations.add(
                "config.provisioning.group_roles",
                "a group name is required",
            );
        }
        if let Some(role) = role_field(mapping.role, "config.provisioning.group_roles", violations)
        {
            group_roles.push((mapping.group.trim().to_owned(), role));
        }
    }
    let sync_every_login = match pb::SyncMode::try_from(provisioning.sync) {
        Ok(pb::SyncMode::EveryLogin) => true,
        Ok(_) => false,
        Err(_) => {
            violations.add("config.provisioning.sync", "is not a known mode");
            false
        }
    };
    if config.redirect_uris.is_empty() {
        violations.add("config.redirect_uris", "at least one is required");
    }
    let redirect_uris = config
        .redirect_uris
        .iter()
        .map(|uri| url_field(uri, "config.redirect_uris", violations))
        .collect();
    Some(Checked {
        issuer_url: issuer_url.trim_end_matches('/').to_owned(),
        client_id,
        enabled: config.enabled,
        settings: Settings {
            scopes,
            claim_email: claim(&claims.email, "email"),
            claim_name: claim(&claims.name, "name"),
            claim_groups: claim(&claims.groups, "groups"),
            auto_provision: provisioning.auto_provision,
            allowed_domains,
            default_role: default_role.unwrap_or(Role::Member),
            group_roles,
            sync_every_login,
            redirect_uris,
        },
    })
}

pub fn to_proto(
    issuer_url: &str,
    client_id: &str,
    secret_set: bool,
    enabled: bool,
    settings: &Settings,
    updated: chrono::NaiveDateTime,
) -> pb::SsoConfig {
    let role = |role: Role| role.to_proto() as i32;
    pb::SsoConfig {
        issuer_url: issuer_url.to_owned(),
        client_id: client_id.to_owned(),
        client_secret_set: secret_set,
        scopes: settings.scopes.clone(),
        claims: Some(pb::ClaimNames {
            email: settings.claim_email.clone(),
            name: settings.claim_name.clone(),
            groups: settings.claim_groups.clone(),
        }),
        enabled,
        provisioning: Some(pb::ProvisioningRules {
            auto_provision: settings.auto_provision,
            allowed_email_domains: settings.allowed_domains.clone(),
            default_role: role(settings.default_role),
            group_roles: settings
                .group_roles
                .iter()
                .map(|(group, r)| pb::GroupRoleMapping {
                    group: group.clone(),
                    role: role(*r),
                })
                .collect(),
            sync: if settings.sync_every_login {
                pb::SyncMode::EveryLogin
            } else {
                pb::SyncMode::AtCreation
            } as i32,
        }),
        redirect_uris: settings.redirect_uris.clone(),
        update_time: Some(crate::clock::to_proto(updated)),
    }
}

/// Settings for unit tests: standard claims, provisioning on, MEMBER by
/// default, no domains, mappings or sync.
#[cfg(test)]
impl Default for Settings {
    fn default() -> Self {
        Settings {
            scopes: vec![],
            claim_email: "email".into(),
            claim_name: "name".into(),
            claim_groups: "groups".into(),
            auto_provision: true,
            allowed_domains: vec![],
            default_role: Role::Member,
            group_roles: vec![],
            sync_every_login: false,
            redirect_uris: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(domains: &[&str], mappings: &[(&str, &str)]) -> Settings {
        Settings {
            allowed_domains: domains.iter().map(|d| (*d).to_owned()).collect(),
            group_roles: mappings
                .iter()
                .map(|(g, r)| ((*g).to_owned(), Role::parse(r).unwrap()))
                .collect(),
            ..Settings::default()
        }
    }

    #[test]
    fn domains_match_exactly() {
        let s = settings(&["company.com"], &[]);
        assert!(s.domain_allowed("ann@company.com"));
        assert!(s.domain_allowed("ann@COMPANY.com."));
        assert!(!s.domain_allowed("eve@evilcompany.com"));
        assert!(!s.domain_allowed("eve@sub.company.com"));
        assert!(!s.domain_allowed("eve@company.com.evil.io"));
        assert!(settings(&[], &[]).domain_allowed("anyone@anywhere.io"));
    }

    #[test]
    fn the_highest_mapped_role_wins_but_never_owner() {
        let s = settings(
            &[],
            &[("devs", "member"), ("leads", "admin"), ("root", "owner")],
        );
        let groups = |g: &[&str]| g.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(s.mapped_role(&groups(&["devs"])), Some(Role::Member));
        assert_eq!(
            s.mapped_role(&groups(&["devs", "leads"])),
            Some(Role::Admin)
        );
        assert_eq!(s.mapped_role(&groups(&["root"])), Some(Role::Admin));
        assert_eq!(s.mapped_role(&groups(&["other"])), None);
    }
}
