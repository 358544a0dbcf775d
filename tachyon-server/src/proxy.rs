//! Proxy headers: the client address and scheme a trusted reverse proxy reports in
//! `X-Forwarded-For` and `X-Forwarded-Proto`, with uvicorn's rules (`--proxy-headers`,
//! `--forwarded-allow-ips`).

use std::net::IpAddr;

use http::{HeaderMap, Request};

use crate::body::RequestBody;
use crate::dispatch::{Dispatch, Peer, Reply};
use crate::ws::WebSocket;

/// The addresses whose proxy headers are believed: uvicorn's `--forwarded-allow-ips`.
///
/// Parsed from a comma-separated list of IP addresses (`127.0.0.1`), networks
/// (`10.0.0.0/8`, `fd00::/8`), other literals (compared as text, for peers that are not IP
/// addresses), or `*` for every peer. A network with host bits set (`10.0.0.1/8`) is a
/// literal, as Python's `ipaddress.ip_network` refuses it.
///
/// ```
/// use tachyon_server::TrustedHosts;
///
/// let trusted = TrustedHosts::parse("127.0.0.1, 10.0.0.0/8");
/// assert!(trusted.contains("10.1.2.3"));
/// assert!(!trusted.contains("192.168.0.1"));
/// // The client is the last address not itself a trusted proxy.
/// assert_eq!(trusted.client_address("1.2.3.4, 10.0.0.7"), ("1.2.3.4".to_owned(), 0));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedHosts {
    always: bool,
    hosts: Vec<IpAddr>,
    networks: Vec<(IpAddr, u8)>,
    literals: Vec<String>,
}

/// uvicorn's default `--forwarded-allow-ips`: the loopback addresses.
pub const DEFAULT_FORWARDED_ALLOW_IPS: &str = "127.0.0.1,::1";

impl TrustedHosts {
    /// Parses a comma-separated list (see [`TrustedHosts`]); items are trimmed.
    pub fn parse(spec: &str) -> TrustedHosts {
        let mut trusted = TrustedHosts::default();
        if spec.trim() == "*" {
            trusted.always = true;
            return trusted;
        }
        for item in spec.split(',').map(str::trim) {
            if let Some((addr, bits)) = item.split_once('/') {
                match network(addr, bits) {
                    Some(net) => trusted.networks.push(net),
                    None => trusted.literals.push(item.to_owned()),
                }
            } else {
                match item.parse::<IpAddr>() {
                    Ok(ip) => trusted.hosts.push(ip),
                    Err(_) => trusted.literals.push(item.to_owned()),
                }
            }
        }
        trusted
    }

    /// Whether every peer is trusted (`*`).
    pub fn trusts_all(&self) -> bool {
        self.always
    }

    /// Whether `host` (an IP address, or any other text) is trusted.
    pub fn contains(&self, host: &str) -> bool {
        if self.always {
            return true;
        }
        if host.is_empty() {
            return false;
        }
        match host.parse::<IpAddr>() {
            Ok(ip) => self.contains_ip(ip),
            Err(_) => self.literals.iter().any(|l| l == host),
        }
    }

    /// Whether the address `ip` is trusted.
    pub fn contains_ip(&self, ip: IpAddr) -> bool {
        self.always
            || self.hosts.contains(&ip)
            || self
                .networks
                .iter()
                .any(|&(net, bits)| in_network(ip, net, bits))
    }

    /// The client's (host, port) from an `X-Forwarded-For` value: the last entry that is not
    /// a trusted proxy, or the first entry if all are (or if every peer is trusted). The port
    /// is 0 unless the entry has one (`1.2.3.4:5000`, `[::1]:5000`).
    pub fn client_address(&self, forwarded_for: &str) -> (String, u16) {
        let mut hosts = forwarded_for.split(',').map(str::trim);
        let first = hosts.clone().next().unwrap_or("");
        if !self.always {
            for entry in hosts.by_ref().rev() {
                let (host, port) = host_port(entry);
                if !self.contains(host) {
                    return (host.to_owned(), port);
                }
            }
        }
        let (host, port) = host_port(first);
        (host.to_owned(), port)
    }

    /// What the proxy headers of a request from `peer` say, if `peer` is trusted and they say
    /// anything usable: `X-Forwarded-Proto` (`http`, `https`, `ws` or `wss`, trimmed) and
    /// `X-Forwarded-For` (every such header, joined with `, `).
    pub fn forwarded(&self, peer: &Peer, headers: &HeaderMap) -> Option<Forwarded> {
        let trusted = match peer.remote {
            Some(addr) => self.contains_ip(addr.ip()),
            None => self.always,
        };
        if !trusted {
            return None;
        }
        let scheme =
            headers
                .get("x-forwarded-proto")
                .and_then(|v| match latin1(v.as_bytes()).trim() {
                    "http" => Some("http"),
                    "https" => Some("https"),
                    "ws" => Some("ws"),
                    "wss" => Some("wss"),
                    _ => None,
                });
        let mut values = headers.get_all("x-forwarded-for").iter().peekable();
        let client = if values.peek().is_some() {
            let joined = values
                .map(|v| latin1(v.as_bytes()))
                .collect::<Vec<_>>()
                .join(", ");
            Some(self.client_address(&joined)).filter(|(host, _)| !host.is_empty())
        } else {
            None
        };
        (scheme.is_some() || client.is_some()).then_some(Forwarded { client, scheme })
    }
}

/// What a trusted proxy said about a request, put in the request's extensions by
/// [`ProxyHeaders`]: the client's (host, port) and the scheme (`http`, `https`, `ws`, `wss`).
/// `None` fields keep the connection's own values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Forwarded {
    /// The client, from `X-Forwarded-For` (port 0 when the header has none).
    pub client: Option<(String, u16)>,
    /// The scheme, from `X-Forwarded-Proto`.
    pub scheme: Option<&'static str>,
}

/// A [`Dispatch`] that reads proxy headers before the inner dispatcher: a request from a
/// trusted peer carrying them gets a [`Forwarded`] extension. With `trusted` `None` it adds
/// nothing (proxy headers off), at the cost of one branch.
#[derive(Debug)]
pub struct ProxyHeaders<D> {
    inner: D,
    trusted: Option<TrustedHosts>,
}

impl<D> ProxyHeaders<D> {
    /// Wraps `inner`; `trusted` `None` turns proxy headers off.
    pub fn new(inner: D, trusted: Option<TrustedHosts>) -> Self {
        ProxyHeaders { inner, trusted }
    }
}

impl<D: Dispatch> Dispatch for ProxyHeaders<D> {
    fn dispatch(&self, mut request: Request<RequestBody>, peer: &Peer) -> Reply {
        if let Some(trusted) = &self.trusted
            && let Some(forwarded) = trusted.forwarded(peer, request.headers())
        {
            request.extensions_mut().insert(forwarded);
        }
        self.inner.dispatch(request, peer)
    }

    fn accepts_websockets(&self) -> bool {
        self.inner.accepts_websockets()
    }

    fn dispatch_websocket(&self, mut request: Request<()>, peer: &Peer, socket: WebSocket) {
        if let Some(trusted) = &self.trusted
            && let Some(forwarded) = trusted.forwarded(peer, request.headers())
        {
            request.extensions_mut().insert(forwarded);
        }
        self.inner.dispatch_websocket(request, peer, socket)
    }
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// uvicorn's `_parse_host_port`: a bare host, `v4:port` or `[v6]:port`; anything malformed
/// is the host as written, port 0.
fn host_port(value: &str) -> (&str, u16) {
    if let Some(rest) = value.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return (value, 0);
        };
        let host = &rest[..end];
        let remainder = &rest[end + 1..];
        if remainder.is_empty() {
            return (host, 0);
        }
        let Some(port) = remainder.strip_prefix(':') else {
            return (value, 0);
        };
        return (host, python_int(port).unwrap_or(0));
    }
    if value.matches(':').count() == 1 {
        let (host, port) = value.rsplit_once(':').unwrap_or((value, ""));
        return match python_int(port) {
            Some(port) => (host, port),
            None => (value, 0),
        };
    }
    (value, 0)
}

/// A port as Python's `int()` reads one (surrounding whitespace allowed), if it fits a port.
/// uvicorn keeps ports above 65535 as they are; such a value is none here (port 0).
fn python_int(text: &str) -> Option<u16> {
    text.trim().parse().ok()
}

fn network(addr: &str, bits: &str) -> Option<(IpAddr, u8)> {
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits: u8 = if bits.is_empty() {
        return None;
    } else {
        bits.parse().ok()?
    };
    if bits > max {
        return None;
    }
    // `ipaddress.ip_network` is strict: host bits set is an error (a literal, here).
    (masked(ip, bits) == ip).then_some((ip, bits))
}

fn masked(ip: IpAddr, bits: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    ip.is_ipv4() == net.is_ipv4() && masked(ip, bits) == net
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_networks_and_literals() {
        let t = TrustedHosts::parse("127.0.0.1, ::1 ,10.0.0.0/8,fd00::/8,10.0.0.1/8,unix:sock");
        assert!(t.contains("127.0.0.1"));
        assert!(t.contains("::1"));
        assert!(t.contains("10.200.3.4"));
        assert!(t.contains("fd12::1"));
        assert!(!t.contains("11.0.0.1"));
        assert!(!t.contains("fe80::1"));
        // Host bits set: a literal, matched only as text.
        assert!(t.contains("10.0.0.1/8"));
        assert!(t.contains("unix:sock"));
        assert!(!t.contains(""));
        assert!(!t.contains("::ffff:127.0.0.1"));
    }

    #[test]
    fn star_trusts_everyone_and_takes_the_first_entry() {
        let t = TrustedHosts::parse("*");
        assert!(t.trusts_all());
        assert!(t.contains("203.0.113.9"));
        assert_eq!(
            t.client_address("1.1.1.1, 2.2.2.2"),
            ("1.1.1.1".to_owned(), 0)
        );
    }

    #[test]
    fn client_is_the_last_untrusted_entry() {
        let t = TrustedHosts::parse("127.0.0.1,10.0.0.0/8");
        assert_eq!(
            t.client_address("9.9.9.9, 1.2.3.4, 10.0.0.1"),
            ("1.2.3.4".to_owned(), 0)
        );
        // All trusted: the first.
        assert_eq!(
            t.client_address("10.0.0.2, 127.0.0.1"),
            ("10.0.0.2".to_owned(), 0)
        );
        assert_eq!(
            t.client_address("1.2.3.4:5000"),
            ("1.2.3.4".to_owned(), 5000)
        );
        assert_eq!(
            t.client_address("[2001:db8::1]:443"),
            ("2001:db8::1".to_owned(), 443)
        );
        assert_eq!(
            t.client_address("[2001:db8::1]"),
            ("2001:db8::1".to_owned(), 0)
        );
        assert_eq!(
            t.client_address("2001:db8::1"),
            ("2001:db8::1".to_owned(), 0)
        );
        assert_eq!(t.client_address("host:port"), ("host:port".to_owned(), 0));
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, v.parse().unwrap());
        }
        map
    }

    fn peer(ip: &str) -> Peer {
        Peer {
            remote: Some(std::net::SocketAddr::new(ip.parse().unwrap(), 5000)),
            local: None,
        }
    }

    #[test]
    fn forwarded_only_from_trusted_peers() {
        let t = TrustedHosts::parse(DEFAULT_FORWARDED_ALLOW_IPS);
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-proto", " https "),
        ]);
        assert_eq!(
            t.forwarded(&peer("127.0.0.1"), &h),
            Some(Forwarded {
                client: Some(("1.2.3.4".to_owned(), 0)),
                scheme: Some("https"),
            })
        );
        assert_eq!(t.forwarded(&peer("192.0.2.1"), &h), None);
        // A Unix socket peer is trusted only by `*`.
        assert_eq!(t.forwarded(&Peer::default(), &h), None);
        assert!(
            TrustedHosts::parse("*")
                .forwarded(&Peer::default(), &h)
                .is_some()
        );
    }

    #[test]
    fn unknown_scheme_and_repeated_for_headers() {
        let t = TrustedHosts::parse("127.0.0.1");
        let h = headers(&[
            ("x-forwarded-proto", "gopher"),
            ("x-forwarded-for", "5.5.5.5"),
            ("x-forwarded-for", "6.6.6.6"),
        ]);
        assert_eq!(
            t.forwarded(&peer("127.0.0.1"), &h),
            Some(Forwarded {
                client: Some(("6.6.6.6".to_owned(), 0)),
                scheme: None,
            })
        );
        assert_eq!(t.forwarded(&peer("127.0.0.1"), &HeaderMap::new()), None);
        // An empty X-Forwarded-For leaves the client alone.
        let empty = headers(&[("x-forwarded-for", "")]);
        assert_eq!(t.forwarded(&peer("127.0.0.1"), &empty), None);
    }
}
