//! Who the client is, by address. Behind a reverse proxy every connection
//! comes from the proxy; with `--trusted-proxy CIDR…`, a request whose peer
//! is one of them comes from the address the proxies name: RFC 7239
//! `Forwarded: for=…`, else `X-Forwarded-For`. The list is read from the
//! right, past every trusted proxy, so a client cannot pass itself off as
//! another by sending the header itself (each proxy appends what it saw).
//! A peer that is not trusted is the client, whatever it sends.

use std::{net::IpAddr, str::FromStr};

use http::HeaderMap;

/// An address block, `10.0.0.0/8` or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?} is not an address or CIDR block (10.0.0.0/8, fd00::/8)");
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address.trim().parse().map_err(|_| bad())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(bad)?,
            None => max,
        };
        Ok(Self { network, prefix })
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The client's address for a request from `peer`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    let peer = peer.to_canonical();
    if !is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_for(headers).into_iter().rev() {
        client = hop;
        if !is_trusted(hop) {
            break;
        }
    }
    client
}

/// The addresses the proxies named, client first: `Forwarded` when every
/// `for=` in it is an address, else `X-Forwarded-For`, else none.
fn forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    let joined = |name: &str| -> Option<String> {
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().ok())
            .collect::<Option<_>>()?;
        (!values.is_empty()).then(|| values.join(","))
    };
    if let Some(forwarded) = joined("forwarded") {
        let hops: Option<Vec<IpAddr>> = forwarded
            .split(',')
            .map(|element| {
                let value = element.split(';').find_map(|pair| {
                    let (key, value) = pair.split_once('=')?;
                    key.trim().eq_ignore_ascii_case("for").then_some(value)
                })?;
                node_address(value.trim().trim_matches('"'))
            })
            .collect();
        if let Some(hops) = hops {
            return hops;
        }
    }
    joined("x-forwarded-for")
        .and_then(|list| {
            list.split(',')
                .map(|hop| node_address(hop.trim()))
                .collect()
        })
        .unwrap_or_default()
}

/// An RFC 7239 node: `192.0.2.43`, `192.0.2.43:47011`, `[2001:db8::1]:4711`.
fn node_address(node: &str) -> Option<IpAddr> {
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    node.parse().ok().or_else(|| {
        node.rsplit_once(':')?
            .0
            .parse::<std::net::Ipv4Addr>()
            .ok()
            .map(IpAddr::V4)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn blocks_parse_and_match() {
        let block: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(block.contains(ip("10.1.200.3")));
        assert!(!block.contains(ip("10.2.0.1")));
        assert!(
            block.contains(ip("::ffff:10.1.0.9")),
            "IPv4-mapped addresses are IPv4"
        );
        let one: Cidr = "fd00::1".parse().unwrap();
        assert!(one.contains(ip("fd00::1")) && !one.contains(ip("fd00::2")));
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("8.8.8.8")));
        for bad in ["", "10.0.0.0/33", "fd00::/129", "example.com", "10.0.0.0/x"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_trusted_peers_name_the_client() {
        let trusted: Vec<Cidr> = vec!["10.0.0.0/8".parse().unwrap()];
        let proxy = ip("10.0.0.5");
        let xff = headers(&[("x-forwarded-for", "198.51.100.7, 10.0.0.9")]);
        assert_eq!(
            client_ip(proxy, &xff, &trusted),
            ip("198.51.100.7"),
            "past both proxies"
        );
        assert_eq!(
            client_ip(ip("203.0.113.1"), &xff, &trusted),
            ip("203.0.113.1"),
            "not trusted"
        );
        assert_eq!(
            client_ip(proxy, &xff, &[]),
            proxy,
            "no proxy is trusted by default"
        );
        let spoofed = headers(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7")]);
        assert_eq!(
            client_ip(proxy, &spoofed, &trusted),
            ip("198.51.100.7"),
            "the client's own header is not believed"
        );
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), proxy);
    }

    #[test]
    fn forwarded_wins_and_its_nodes_parse() {
        let trusted: Vec<Cidr> = vec!["10.0.0.0/8".parse().unwrap()];
        let both = headers(&[
            (
                "forwarded",
                r#"for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.9:80"#,
            ),
            ("x-forwarded-for", "192.0.2.1"),
        ]);
        assert_eq!(
            client_ip(ip("10.0.0.5"), &both, &trusted),
            ip("2001:db8:cafe::17")
        );
        let obfuscated = headers(&[
            ("forwarded", "for=_hidden"),
            ("x-forwarded-for", "192.0.2.1"),
        ]);
        assert_eq!(
            client_ip(ip("10.0.0.5"), &obfuscated, &trusted),
            ip("192.0.2.1")
        );
        let garbage = headers(&[("x-forwarded-for", "not an address")]);
        assert_eq!(
            client_ip(ip("10.0.0.5"), &garbage, &trusted),
            ip("10.0.0.5")
        );
    }
}
