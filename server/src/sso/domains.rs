//! Email domains an organization proves it owns before its identity
//! provider may create or link accounts with addresses in them: an admin
//! of any organization picks the provider, and a provider can assert any
//! address. The proof is a DNS TXT record `_tenantry-challenge.<domain>`
//! holding the value the organization was given (checked with
//! `hickory-resolver`, uncached, against `--dns-server` or the system's
//! resolvers).

use std::{net::SocketAddr, time::Duration};

use chrono::NaiveDateTime;
use diesel::{ExpressionMethods as _, OptionalExtension as _, QueryDsl as _, RunQueryDsl as _};
use hickory_resolver::{
    TokioResolver,
    config::{NameServerConfig, ResolverConfig},
    net::runtime::TokioRuntimeProvider,
    proto::rr::RData,
};
use tenantry_proto::sso::v1 as pb;

use crate::{
    audit::{self, Action, Event},
    clock::to_proto,
    context::{Caller, RequestMeta},
    crypto::tokens::random_token,
    db::{Tenant, schema::sso_domains},
    error::{ApiError, ApiResult},
    state::AppState,
    validate,
};

const RECORD_PREFIX: &str = "_tenantry-challenge";
const VALUE_PREFIX: &str = "tenantry-domain-verification=";

type Row = (String, String, NaiveDateTime, Option<NaiveDateTime>);

/// Whether the organization has verified the domain of `email`.
pub fn verified_for(t: &mut Tenant<'_>, email: &str) -> ApiResult<bool> {
    let Some((_, domain)) = email.rsplit_once('@') else {
        return Ok(false);
    };
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let found: Option<Option<NaiveDateTime>> = t
        .sso_domains()
        .filter(sso_domains::domain.eq(domain))
        .select(sso_domains::verified_at)
        .first(t.conn())
        .optional()?;
    Ok(matches!(found, Some(Some(_))))
}

pub async fn add_sso_domain(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::AddSsoDomainRequest,
) -> ApiResult<pb::AddSsoDomainResponse> {
    let domain = clean_domain(&request.domain).map_err(|d| ApiError::invalid("domain", d))?;
    let scope = caller.tenant()?;
    let row: Row = (domain, random_token("tdv"), state.now(), None);
    let added = row.clone();
    state
        .write(move |tx, st| {
            let mut t = tx.tenant(&scope)?;
            let inserted = t
                .insert_sso_domains()
                .values((
                    sso_domains::org_id.eq(t.org_id().to_owned()),
                    sso_domains::domain.eq(&added.0),
                    sso_domains::token.eq(&added.1),
                    sso_domains::created_at.eq(added.2),
                ))
                .execute(t.conn());
            if let Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) = inserted
            {
                return Err(ApiError::AlreadyExists(
                    "this organization already claimed this domain".into(),
                ));
            }
            inserted?;
            record(&mut t, st, &meta, &caller, Action::SsoDomainAdded, &added.0)
        })
        .await?;
    Ok(pb::AddSsoDomainResponse {
        domain: Some(to_proto_domain(&row)),
    })
}

pub async fn verify_sso_domain(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::VerifySsoDomainRequest,
) -> ApiResult<pb::VerifySsoDomainResponse> {
    let domain = clean_domain(&request.domain).map_err(|d| ApiError::invalid("domain", d))?;
    let scope = caller.tenant()?;
    let (read_scope, name) = (scope.clone(), domain.clone());
    let row = state
        .db
        .read(move |tx| find(&mut tx.tenant(&read_scope)?, &name))
        .await?
        .ok_or(ApiError::NotFound("domain"))?;
    if row.3.is_none() {
        let found = txt_values(state.config.dns_server, &record_name(&domain)).await?;
        let wanted = record_value(&row.1);
        if !found.iter().any(|v| v.trim() == wanted) {
            return Err(ApiError::failed_precondition(not_found_message(
                &domain, &found,
            )));
        }
    }
    let row = state
        .write(move |tx, st| {
            let mut t = tx.tenant(&scope)?;
            let now = st.now();
            let newly = diesel::update(
                t.sso_domains()
                    .filter(sso_domains::domain.eq(&domain))
                    .filter(sso_domains::verified_at.is_null()),
            )
            .set(sso_domains::verified_at.eq(now))
            .execute(t.conn())?;
            if newly == 1 {
                record(
                    &mut t,
                    st,
                    &meta,
                    &caller,
                    Action::SsoDomainVerified,
                    &domain,
                )?;
            }
            find(&mut t, &domain)?.ok_or(ApiError::NotFound("domain"))
        })
        .await?;
    Ok(pb::VerifySsoDomainResponse {
        domain: Some(to_proto_domain(&row)),
    })
}

pub async fn list_sso_domains(
    state: &AppState,
    caller: Caller,
) -> ApiResult<pb::ListSsoDomainsResponse> {
    let scope = caller.tenant()?;
    let rows: Vec<Row> = state
        .db
        .read(move |tx| {
            let mut t = tx.tenant(&scope)?;
            let query = t.sso_domains().order(sso_domains::domain.asc()).select((
                sso_domains::domain,
                sso_domains::token,
                sso_domains::created_at,
                sso_domains::verified_at,
            ));
            Ok(query.load(t.conn())?)
        })
        .await?;
    Ok(pb::ListSsoDomainsResponse {
        domains: rows.iter().map(to_proto_domain).collect(),
    })
}

pub async fn remove_sso_domain(
    state: &AppState,
    meta: RequestMeta,
    caller: Caller,
    request: pb::RemoveSsoDomainRequest,
) -> ApiResult<pb::RemoveSsoDomainResponse> {
    let domain = clean_domain(&request.domain).map_err(|d| ApiError::invalid("domain", d))?;
    let scope = caller.tenant()?;
    state
        .write(move |tx, st| {
            let mut t = tx.tenant(&scope)?;
            let gone = diesel::delete(t.sso_domains().filter(sso_domains::domain.eq(&domain)))
                .execute(t.conn())?;
            if gone == 0 {
                return Err(ApiError::NotFound("domain"));
            }
            record(
                &mut t,
                st,
                &meta,
                &caller,
                Action::SsoDomainRemoved,
                &domain,
            )
        })
        .await?;
    Ok(pb::RemoveSsoDomainResponse {})
}

fn find(t: &mut Tenant<'_>, domain: &str) -> ApiResult<Option<Row>> {
    let query = t
        .sso_domains()
        .filter(sso_domains::domain.eq(domain.to_owned()))
        .select((
            sso_domains::domain,
            sso_domains::token,
            sso_domains::created_at,
            sso_domains::verified_at,
        ));
    Ok(query.first(t.conn()).optional()?)
}

/// The TXT values at `name` (none when it does not exist).
async fn txt_values(server: Option<SocketAddr>, name: &str) -> ApiResult<Vec<String>> {
    let resolver = resolver(server)?;
    match resolver.txt_lookup(format!("{name}.")).await {
        Ok(lookup) => Ok(lookup
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::TXT(txt) => Some(txt),
                _ => None,
            })
            .map(|txt| {
                txt.txt_data
                    .iter()
                    .map(|part| String::from_utf8_lossy(part).into_owned())
                    .collect::<String>()
            })
            .collect()),
        Err(err) if err.is_nx_domain() || err.is_no_records_found() => Ok(Vec::new()),
        Err(err) => Err(ApiError::Unavailable(format!(
            "DNS did not answer for {name}: {err}"
        ))),
    }
}

/// A resolver that caches nothing: a record just published is seen by the
/// next verification.
fn resolver(server: Option<SocketAddr>) -> ApiResult<TokioResolver> {
    let provider = TokioRuntimeProvider::default();
    let mut builder = match server {
        Some(addr) => {
            let mut name_server = NameServerConfig::udp_and_tcp(addr.ip());
            for connection in &mut name_server.connections {
                connection.port = addr.port();
            }
            let config = ResolverConfig::from_name_servers(vec![name_server]);
            TokioResolver::builder_with_config(config, provider)
        }
        None => TokioResolver::builder(provider).map_err(|e| {
            ApiError::Unavailable(format!("cannot read the system's DNS configuration: {e}"))
        })?,
    };
    let options = builder.options_mut();
    options.cache_size = 0;
    options.timeout = Duration::from_secs(5);
    options.attempts = 2;
    builder
        .build()
        .map_err(|e| ApiError::Unavailable(format!("cannot set up DNS resolution: {e}")))
}

fn not_found_message(domain: &str, found: &[String]) -> String {
    let name = record_name(domain);
    if found.is_empty() {
        return format!("no TXT record at {name} yet (DNS changes can take a while to show)");
    }
    format!(
        "the TXT records at {name} do not hold this organization's value (found: {})",
        found.join(", ")
    )
}

/// A domain as typed, lowercase, without a trailing dot.
fn clean_domain(raw: &str) -> Result<String, String> {
    let raw = raw.trim().trim_end_matches('.');
    if raw.is_empty() {
        return Err("is required".into());
    }
    let email = validate::normalize_email(&format!("x@{raw}"))
        .map_err(|_| "must be a domain such as example.com".to_owned())?;
    Ok(email.trim_start_matches("x@").to_owned())
}

fn record_name(domain: &str) -> String {
    format!("{RECORD_PREFIX}.{domain}")
}

fn record_value(token: &str) -> String {
    format!("{VALUE_PREFIX}{token}")
}

fn to_proto_domain(row: &Row) -> pb::SsoDomain {
    pb::SsoDomain {
        domain: row.0.clone(),
        record_name: record_name(&row.0),
        record_value: record_value(&row.1),
        verified: row.3.is_some(),
        create_time: Some(to_proto(row.2)),
        verify_time: row.3.map(to_proto),
    }
}

fn record(
    t: &mut Tenant<'_>,
    state: &AppState,
    meta: &RequestMeta,
    caller: &Caller,
    action: Action,
    domain: &str,
) -> ApiResult<()> {
    let event = Event::by(caller, action, "domain", domain);
    audit::record(t, state.now(), meta, event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_cleaned_or_refused() {
        assert_eq!(clean_domain(" Acme.COM. ").unwrap(), "acme.com");
        assert!(clean_domain("").is_err());
        assert!(clean_domain("no dots").is_err());
        assert!(clean_domain("-bad.com").is_err());
        assert!(clean_domain("a@b.com").is_err());
    }
}
