//! The SSRF guard for receiver and token URLs.
//!
//! A URL must be `https` unless its host is on the operator's allow-list
//! (`LOKET_WEBHOOK_ALLOWED_HOSTS`: host names, IP addresses and CIDRs). Private, loopback,
//! link-local, unspecified, multicast, CGNAT, documentation and other special-purpose addresses,
//! IPv6 unique-local and IPv4-mapped addresses are refused unless allow-listed. The check runs
//! when a receiver is registered (on the literal URL) and again before every request, after DNS
//! resolution; the request then connects to exactly the vetted addresses, so a DNS answer that
//! changes in between (rebinding) cannot redirect it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;

/// One allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Allowed {
    /// A host name (lowercase, without trailing dot).
    Host(String),
    /// An address block.
    Net(IpAddr, u8),
}

/// The operator's allow-list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList(Vec<Allowed>);

fn parse_ip(s: &str) -> Option<IpAddr> {
    s.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

impl AllowList {
    /// Parses `host,1.2.3.4,10.0.0.0/8,::1,[fd00::]/8`; empty means nothing is allow-listed.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if let Some((addr, bits)) = item.split_once('/') {
                let ip = parse_ip(addr).ok_or_else(|| format!("`{item}` is not a CIDR block"))?;
                let max = if ip.is_ipv4() { 32 } else { 128 };
                let bits: u8 = bits
                    .parse()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(|| format!("`{item}` has a bad prefix length"))?;
                out.push(Allowed::Net(ip, bits));
            } else if let Some(ip) = parse_ip(item) {
                out.push(Allowed::Net(ip, if ip.is_ipv4() { 32 } else { 128 }));
            } else if item
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                out.push(Allowed::Host(
                    item.trim_end_matches('.').to_ascii_lowercase(),
                ));
            } else {
                return Err(format!(
                    "`{item}` is not a host name, address or CIDR block"
                ));
            }
        }
        Ok(AllowList(out))
    }

    fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.0
            .iter()
            .any(|a| matches!(a, Allowed::Host(h) if *h == host))
    }

    fn allows_ip(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|a| match a {
            Allowed::Net(net, bits) => in_block(ip, *net, *bits),
            Allowed::Host(_) => false,
        })
    }

    /// Whether a URL with this host may use plain `http` and private addresses.
    fn allows(&self, host: &Host) -> bool {
        match host {
            Host::Name(n) => self.allows_host(n),
            Host::Ip(ip) => self.allows_ip(*ip),
        }
    }
}

fn in_block(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(bits))
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(bits))
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

const V4_BLOCKED: &[(Ipv4Addr, u8)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8),       // "this network", unspecified
    (Ipv4Addr::new(10, 0, 0, 0), 8),      // private
    (Ipv4Addr::new(100, 64, 0, 0), 10),   // CGNAT
    (Ipv4Addr::new(127, 0, 0, 0), 8),     // loopback
    (Ipv4Addr::new(169, 254, 0, 0), 16),  // link-local (cloud metadata)
    (Ipv4Addr::new(172, 16, 0, 0), 12),   // private
    (Ipv4Addr::new(192, 0, 0, 0), 24),    // IETF protocol assignments
    (Ipv4Addr::new(192, 0, 2, 0), 24),    // documentation
    (Ipv4Addr::new(192, 88, 99, 0), 24),  // 6to4 relay
    (Ipv4Addr::new(192, 168, 0, 0), 16),  // private
    (Ipv4Addr::new(198, 18, 0, 0), 15),   // benchmarking
    (Ipv4Addr::new(198, 51, 100, 0), 24), // documentation
    (Ipv4Addr::new(203, 0, 113, 0), 24),  // documentation
    (Ipv4Addr::new(224, 0, 0, 0), 4),     // multicast
    (Ipv4Addr::new(240, 0, 0, 0), 4),     // reserved, broadcast
];

const V6_BLOCKED: &[(Ipv6Addr, u8)] = &[
    (Ipv6Addr::UNSPECIFIED, 128),
    (Ipv6Addr::LOCALHOST, 128),
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96), // IPv4-mapped
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 96),      // IPv4-compatible (deprecated)
    (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96), // NAT64
    (Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48), // local-use NAT64
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64),  // discard
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // documentation
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16), // 6to4 (embeds IPv4)
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7),  // unique local
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10), // link-local
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10), // site-local (deprecated)
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8),  // multicast
];

/// Whether `ip` is in a private or special-purpose range that receivers may not use.
pub fn is_blocked(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(_) => V4_BLOCKED
            .iter()
            .any(|(n, b)| in_block(ip, IpAddr::V4(*n), *b)),
        IpAddr::V6(_) => V6_BLOCKED
            .iter()
            .any(|(n, b)| in_block(ip, IpAddr::V6(*n), *b)),
    }
}

/// The host of a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Name(String),
    Ip(IpAddr),
}

/// A URL that passed the static checks.
#[derive(Debug, Clone)]
pub struct CheckedUrl {
    url: Url,
    host: Host,
    allow_listed: bool,
}

impl CheckedUrl {
    /// The URL.
    pub fn url(&self) -> &Url {
        &self.url
    }
}

/// The guard: the allow-list plus the checks.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    allow: AllowList,
}

impl Guard {
    /// A guard with the operator's allow-list.
    pub fn new(allow: AllowList) -> Self {
        Guard { allow }
    }

    /// The static checks: an absolute `https` URL (or `http` for an allow-listed host) without
    /// credentials or fragment, whose host, when an address, is public or allow-listed.
    pub fn check(&self, raw: &str) -> Result<CheckedUrl, String> {
        let url = Url::parse(raw).map_err(|_| "must be an absolute URL".to_owned())?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not contain credentials".into());
        }
        if url.fragment().is_some() {
            return Err("must not contain a fragment".into());
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => Host::Name(d.trim_end_matches('.').to_ascii_lowercase()),
            Some(url::Host::Ipv4(ip)) => Host::Ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Host::Ip(IpAddr::V6(ip)),
            None => return Err("must name a host".into()),
        };
        let allow_listed = self.allow.allows(&host);
        match url.scheme() {
            "https" => {}
            "http" if allow_listed => {}
            "http" => return Err("must use https".into()),
            _ => return Err("must be an https URL".into()),
        }
        if !allow_listed {
            match &host {
                Host::Ip(ip) if is_blocked(*ip) => {
                    return Err(
                        "points to a private, loopback, link-local or otherwise reserved address"
                            .into(),
                    );
                }
                // Other names are checked after resolution, before every request.
                Host::Name(n) if n == "localhost" => {
                    return Err("points to the local host".into());
                }
                _ => {}
            }
        }
        Ok(CheckedUrl {
            url,
            host,
            allow_listed,
        })
    }

    /// Resolves the host and returns the addresses a request may connect to (`None` for an
    /// address literal, which needs no resolution). Fails when the name resolves to nothing
    /// allowed.
    pub async fn resolve(&self, checked: &CheckedUrl) -> Result<Option<Vec<SocketAddr>>, String> {
        let Host::Name(name) = &checked.host else {
            return Ok(None);
        };
        let port = checked.url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), port))
            .await
            .map_err(|e| format!("cannot resolve {name}: {e}"))?
            .collect();
        let allowed: Vec<SocketAddr> = addrs
            .into_iter()
            .filter(|a| checked.allow_listed || self.allow.allows_ip(a.ip()) || !is_blocked(a.ip()))
            .collect();
        if allowed.is_empty() {
            return Err(format!(
                "{name} resolves only to private or reserved addresses"
            ));
        }
        Ok(Some(allowed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(allow: &str) -> Guard {
        Guard::new(AllowList::parse(allow).unwrap())
    }

    #[test]
    fn private_and_special_addresses_are_refused() {
        let g = guard("");
        for url in [
            "https://10.0.0.1/x",
            "https://192.168.1.1",
            "https://127.0.0.1/",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://224.0.0.1/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::]/",
            "https://localhost/",
            "http://example.org/",
            "ftp://example.org/",
            "https://user:pw@example.org/",
            "not a url",
        ] {
            assert!(g.check(url).is_err(), "{url} was accepted");
        }
        assert!(g.check("https://example.org/hooks").is_ok());
        assert!(g.check("https://8.8.8.8/hooks").is_ok());
        assert!(g.check("https://[2606:4700::1111]/").is_ok());
    }

    #[test]
    fn the_allow_list_admits_hosts_addresses_and_blocks() {
        let g = guard("127.0.0.1, ::1, hooks.internal, 10.1.0.0/16");
        assert!(g.check("http://127.0.0.1:9000/x").is_ok());
        assert!(g.check("http://[::1]:9000/x").is_ok());
        assert!(g.check("http://hooks.internal/x").is_ok());
        assert!(g.check("https://10.1.2.3/x").is_ok());
        assert!(g.check("https://10.2.0.1/x").is_err());
        assert!(g.check("http://127.0.0.2/x").is_err());
        assert!(AllowList::parse("10.0.0.0/33").is_err());
        assert!(AllowList::parse("a b").is_err());
    }

    #[tokio::test]
    async fn resolution_is_checked_again() {
        let g = guard("");
        let checked = g.check("https://localhost.example/").unwrap();
        // Either it does not resolve or it resolves to something public; never a private answer.
        if let Ok(Some(addrs)) = g.resolve(&checked).await {
            assert!(addrs.iter().all(|a| !is_blocked(a.ip())));
        }
        let allowed = guard("localhost");
        let checked = allowed.check("http://localhost:1/").unwrap();
        let addrs = allowed.resolve(&checked).await.unwrap().unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
        let g = guard("");
        let checked = CheckedUrl {
            url: Url::parse("https://localhost:1/").unwrap(),
            host: Host::Name("localhost".into()),
            allow_listed: false,
        };
        assert!(g.resolve(&checked).await.is_err());
    }
}
