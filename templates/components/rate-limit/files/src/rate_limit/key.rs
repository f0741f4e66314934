//! Who the client is: the key a request is counted under.
//!
//! An authenticated caller of `/api/` is its account (the subject of its
//! verified access token, see [`super`]), whatever address it calls from. Anyone
//! else is the peer's IP address — unless the peer is a proxy listed in
//! `TRUSTED_PROXIES`; then it is the right-most address in `X-Forwarded-For`
//! that is not a trusted proxy, the address the outermost trusted proxy saw.
//! Everything to its left was written by the client, so a forged header changes
//! nothing, and without trusted proxies the header is ignored altogether. IPv6
//! clients are counted per /64 network, the block one subscriber usually holds,
//! so cycling through its addresses does not multiply the limit.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::http::{HeaderMap, HeaderName};
use ipnet::IpNet;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Networks of the proxies in front of the service, whose `X-Forwarded-For`
/// entries are believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list of networks (`10.0.0.0/8`) and addresses
    /// (`192.0.2.10`, `::1`); an empty list trusts no proxy.
    pub fn parse(value: &str) -> Result<Self, String> {
        value
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!(
                            "`{entry}` is neither an IP address nor a network such as 10.0.0.0/8"
                        )
                    })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether `ip` belongs to a trusted proxy.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|network| network.contains(&ip))
    }
}

/// The IP address of the client that sent a request from `peer` with `headers`
/// (see the module documentation).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let mut client = peer.to_canonical();
    if !trusted.contains(client) {
        return client;
    }
    // Repeated headers form one list, in order; walked from the right.
    let hops = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .rev()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.rsplit(','))
        .map(str::trim);
    for hop in hops {
        // An entry that is not an address ends the walk: the last trusted hop is
        // the best that is known, and a client cannot choose it.
        let Some(ip) = parse_hop(hop) else { break };
        client = ip;
        if !trusted.contains(ip) {
            break;
        }
    }
    client
}

/// An `X-Forwarded-For` entry: an address, possibly with a port.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|addr| addr.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// What is counted for a client. Small and `Copy`: looking one up allocates
/// nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// An account: the subject (`sub`, a UUID) of a verified access token.
    Subject(u128),
    /// An IPv4 address.
    V4(Ipv4Addr),
    /// An IPv6 /64 network: the address's first 64 bits.
    V6(u64),
    /// A request served without its peer address (a router not served by
    /// [`crate::server::serve`]): those share one count.
    Unknown,
}

impl ClientKey {
    /// The key of the client at `ip`: its address, or its /64 network for IPv6.
    pub fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Self::V4(v4),
            IpAddr::V6(v6) => Self::V6((u128::from(v6) >> 64) as u64),
        }
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Subject(id) => write!(f, "sub:{id:032x}"),
            Self::V4(ip) => write!(f, "{ip}"),
            Self::V6(network) => write!(f, "{}/64", Ipv6Addr::from(u128::from(*network) << 64)),
            Self::Unknown => f.write_str("unknown"),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn trusted(list: &str) -> TrustedProxies {
        TrustedProxies::parse(list).unwrap()
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(X_FORWARDED_FOR, HeaderValue::from_str(value).unwrap());
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_forwarded_for_is_ignored() {
        let headers = forwarded("203.0.113.9");
        assert_eq!(
            client_ip(ip("198.51.100.1"), &headers, &TrustedProxies::default()),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
        let proxies = trusted("10.0.0.0/8, 192.0.2.1");
        // The client forged the first entry; the proxies appended the rest.
        let headers = forwarded("1.1.1.1, 203.0.113.9, 10.0.0.7");
        assert_eq!(
            client_ip(ip("192.0.2.1"), &headers, &proxies),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn repeated_forwarded_for_headers_form_one_list() {
        let mut headers = forwarded("1.1.1.1");
        headers.append(
            X_FORWARDED_FOR,
            HeaderValue::from_static("203.0.113.9:4711"),
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers, &trusted("10.0.0.0/8")),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn garbage_in_forwarded_for_stops_at_the_last_trusted_hop() {
        let headers = forwarded("203.0.113.9, not-an-ip, 10.0.0.7");
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers, &trusted("10.0.0.0/8")),
            ip("10.0.0.7")
        );
        // No header at all: the proxy itself is the client.
        assert_eq!(
            client_ip(ip("10.0.0.1"), &HeaderMap::new(), &trusted("10.0.0.0/8")),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_network_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            ClientKey::of(ip("2001:db8:1:2:aaaa::1")),
            ClientKey::of(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_eq!(
            ClientKey::of(ip("2001:db8:1:2::1")).to_string(),
            "2001:db8:1:2::/64"
        );
        assert_ne!(
            ClientKey::of(ip("2001:db8:1:2::1")),
            ClientKey::of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            ClientKey::of(ip("::ffff:192.0.2.7")).to_string(),
            "192.0.2.7"
        );
        assert_eq!(
            ClientKey::Subject(0x1234).to_string(),
            "sub:00000000000000000000000000001234"
        );
    }

    #[test]
    fn trusted_proxies_accept_networks_and_addresses_and_refuse_the_rest() {
        let proxies = trusted(" 10.0.0.0/8 ,::1,192.0.2.1,");
        assert!(proxies.contains(ip("10.200.0.1")));
        assert!(proxies.contains(ip("::1")));
        assert!(proxies.contains(ip("::ffff:10.0.0.1")));
        assert!(!proxies.contains(ip("192.0.2.2")));
        assert_eq!(trusted(""), TrustedProxies::default());
        let err = TrustedProxies::parse("10.0.0.0/8, proxy.internal").unwrap_err();
        assert!(err.contains("proxy.internal"), "{err}");
    }
}
