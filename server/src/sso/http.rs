//! The HTTP client for OpenID providers. Any organization admin chooses the
//! issuer URL, and the server follows it (discovery, JWKS, token endpoint),
//! so unless the operator allows it, only public addresses are reached: no
//! cloud metadata service, no internal host, no loopback (SSRF). Host names
//! are checked where they resolve (so DNS cannot swap in a private address
//! after a check), literal addresses before the request; redirects are never
//! followed.

use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::Arc,
    time::Duration,
};

use openidconnect::{AsyncHttpClient, HttpClientError, HttpRequest, HttpResponse, reqwest};

#[derive(Debug, thiserror::Error)]
pub enum ProviderHttpError {
    #[error("{0} is not a public address (this server only reaches public identity providers)")]
    NotPublic(String),
    #[error(transparent)]
    Http(#[from] HttpClientError<reqwest::Error>),
}

#[derive(Debug, Clone)]
pub struct ProviderHttp {
    client: reqwest::Client,
    allow_private: bool,
}

impl ProviderHttp {
    /// No redirects, bounded time; public addresses only unless
    /// `allow_private` (a provider on the operator's own network).
    pub fn new(allow_private: bool) -> Self {
        let mut builder = reqwest::ClientBuilder::new()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15));
        if !allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        Self {
            client: builder.build().unwrap_or_default(),
            allow_private,
        }
    }
}

impl<'c> AsyncHttpClient<'c> for ProviderHttp {
    type Error = ProviderHttpError;
    type Future =
        Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            // A literal address is never resolved, so it is checked here.
            let host = request.uri().host().unwrap_or_default();
            let literal = host.trim_start_matches('[').trim_end_matches(']');
            if !self.allow_private
                && let Ok(ip) = literal.parse::<IpAddr>()
                && !is_public(ip)
            {
                return Err(ProviderHttpError::NotPublic(ip.to_string()));
            }
            Ok(self.client.call(request).await?)
        })
    }
}

/// Resolves host names to their public addresses only.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = all.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(Box::new(ProviderHttpError::NotPublic(host)) as _);
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether `ip` is on the public internet (not loopback, private, link-local,
/// shared, documentation, multicast or unspecified).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared (CGNAT)
                || a >= 240)
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || v6.is_unique_local()
                    || v6.is_unicast_link_local())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_pass() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
