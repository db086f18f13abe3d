//! Where a webhook may point. Unless the server is told to allow it, an
//! address on this machine, on a private network or otherwise not on the
//! public internet is refused, both when a webhook is made and on every
//! delivery (the name is resolved again and the connection pinned to the
//! checked address), so a webhook cannot be used to reach the server's own
//! network (server-side request forgery).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;

use crate::error::{AppError, AppResult};

/// The longest webhook URL.
const LONGEST_URL: usize = 2000;

/// `url` checked: `http` or `https`, a host, no credentials, and (unless
/// `allow_private`) a name that resolves to public addresses only. Its
/// normal form.
pub async fn check_url(url: &str, allow_private: bool) -> AppResult<String> {
    let refused = |reason: &str| AppError::bad_input("url", reason.to_owned());
    let url = url.trim();
    if url.len() > LONGEST_URL {
        return Err(refused("A webhook URL is at most 2,000 characters"));
    }
    let parsed = Url::parse(url).map_err(|_| refused("Give an absolute http or https URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(refused("A webhook URL is http or https"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refused(
            "Put no credentials in a webhook URL; verify the signature instead",
        ));
    }
    addresses(&parsed, allow_private).await?;
    Ok(parsed.to_string())
}

/// The addresses `url`'s host resolves to, every one of them public unless
/// `allow_private`; the first is the one to connect to.
pub async fn addresses(url: &Url, allow_private: bool) -> AppResult<Vec<SocketAddr>> {
    let refused = |reason: String| AppError::bad_input("url", reason);
    let host = url
        .host_str()
        .ok_or_else(|| refused("A webhook URL needs a host".to_owned()))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| refused("A webhook URL needs a port".to_owned()))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| refused(format!("{host} does not resolve")))?
        .collect();
    if found.is_empty() {
        return Err(refused(format!("{host} does not resolve")));
    }
    if !allow_private && let Some(private) = found.iter().find(|address| !is_public(address.ip())) {
        return Err(refused(format!(
            "{host} resolves to {}, which is not a public address",
            private.ip()
        )));
    }
    Ok(found)
}

/// Whether `ip` is on the public internet: not this machine, a private or
/// shared network, link-local, multicast, documentation or reserved space.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
        || first == 0x0064)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["1.1.1.1", "93.184.216.34", "2606:4700:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn urls_are_checked() {
        for bad in [
            "ftp://example.com/hook",
            "not a url",
            "http://user:pass@127.0.0.1/hook",
            "http://127.0.0.1:9/hook",
            "http://localhost/hook",
            "http://[::1]/hook",
        ] {
            assert!(check_url(bad, false).await.is_err(), "{bad}");
        }
        assert_eq!(
            check_url("http://127.0.0.1:9/hook", true).await.unwrap(),
            "http://127.0.0.1:9/hook"
        );
    }
}
