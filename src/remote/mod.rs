//! Fetching an upload's bytes from a URL without becoming a proxy into the server's network
//! (SSRF): every address a URL resolves to, on every redirect, is classified before a
//! connection is made, and only public addresses are allowed unless the operator opts in.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// How long a remote server has to send its response headers (ImageKit's documented limit).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(8);
const MAX_REDIRECTS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    Public,
    Loopback,
    Private,
    LinkLocal,
    /// Unspecified, multicast, broadcast, documentation, carrier-grade NAT and other
    /// special-purpose ranges: never a legitimate place to fetch an upload from.
    Reserved,
}

pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        AddressClass::Loopback
    } else if ip.is_private() {
        AddressClass::Private
    } else if ip.is_link_local() {
        AddressClass::LinkLocal
    } else if ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
    {
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = segments[6].to_be_bytes();
        let [c, d] = segments[7].to_be_bytes();
        return classify_v4(Ipv4Addr::new(a, b, c, d));
    }
    if ip.is_loopback() {
        AddressClass::Loopback
    } else if segments[0] & 0xfe00 == 0xfc00 {
        AddressClass::Private
    } else if segments[0] & 0xffc0 == 0xfe80 {
        AddressClass::LinkLocal
    } else if ip.is_unspecified()
        || ip.is_multicast()
        || segments[0] == 0x2001 && segments[1] == 0x0db8
        || segments[0] & 0xffc0 == 0xfec0
        || segments[..5] == [0, 0, 0, 0, 0]
    {
        AddressClass::Reserved
    } else {
        AddressClass::Public
    }
}

pub fn is_allowed(ip: IpAddr, allow_private: bool) -> bool {
    match classify(ip) {
        AddressClass::Public => true,
        AddressClass::Loopback | AddressClass::Private | AddressClass::LinkLocal => allow_private,
        AddressClass::Reserved => false,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the URL is not a valid http(s) URL")]
    InvalidUrl,
    #[error("the URL points to an address that is not allowed ({0})")]
    ForbiddenAddress(String),
    #[error("the remote server did not answer within {} seconds", HEADER_TIMEOUT.as_secs())]
    Timeout,
    #[error("the remote server answered with status {0}")]
    Status(u16),
    #[error("fetching the URL failed: {0}")]
    Network(String),
}

/// Name resolution, injectable so tests can check the guard without touching the network.
pub trait HostLookup: Send + Sync + 'static {
    fn lookup(
        &self,
        host: String,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;
}

pub struct SystemLookup;

impl HostLookup for SystemLookup {
    fn lookup(
        &self,
        host: String,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// Resolves through `inner` and refuses the name if any address is not allowed: a name that
/// resolves to both a public and a private address is refused, so a client cannot win a race
/// between two answers.
pub struct GuardedResolver<L> {
    inner: Arc<L>,
    allow_private: bool,
}

impl<L: HostLookup> GuardedResolver<L> {
    pub fn new(inner: L, allow_private: bool) -> Self {
        GuardedResolver {
            inner: Arc::new(inner),
            allow_private,
        }
    }

    pub async fn resolve_host(&self, host: &str) -> Result<Vec<IpAddr>, FetchError> {
        let addresses = self
            .inner
            .lookup(host.to_owned())
            .await
            .map_err(|e| FetchError::Network(format!("cannot resolve {host}: {e}")))?;
        if addresses.is_empty() {
            return Err(FetchError::Network(format!("{host} has no addresses")));
        }
        if let Some(bad) = addresses
            .iter()
            .find(|ip| !is_allowed(**ip, self.allow_private))
        {
            return Err(FetchError::ForbiddenAddress(format!(
                "{host} resolves to {bad}"
            )));
        }
        Ok(addresses)
    }
}

impl<L: HostLookup> Resolve for GuardedResolver<L> {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = GuardedResolver {
            inner: self.inner.clone(),
            allow_private: self.allow_private,
        };
        Box::pin(async move {
            let ips = guard.resolve_host(name.as_str()).await?;
            let addrs: Addrs = Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// Checks what can be checked without resolving: scheme, and hosts written as IP literals
/// (which never reach the resolver).
fn check_url(url: &url::Url, allow_private: bool) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::InvalidUrl);
    }
    match url.host() {
        None => Err(FetchError::InvalidUrl),
        Some(url::Host::Ipv4(ip)) if !is_allowed(IpAddr::V4(ip), allow_private) => {
            Err(FetchError::ForbiddenAddress(ip.to_string()))
        }
        Some(url::Host::Ipv6(ip)) if !is_allowed(IpAddr::V6(ip), allow_private) => {
            Err(FetchError::ForbiddenAddress(ip.to_string()))
        }
        Some(_) => Ok(()),
    }
}

pub struct RemoteFetcher {
    client: reqwest::Client,
    allow_private: bool,
}

impl RemoteFetcher {
    pub fn new(allow_private: bool) -> Result<Self, FetchError> {
        Self::with_lookup(SystemLookup, allow_private)
    }

    pub fn with_lookup<L: HostLookup>(lookup: L, allow_private: bool) -> Result<Self, FetchError> {
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if let Err(e) = check_url(attempt.url(), allow_private) {
                attempt.error(e.to_string())
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(HEADER_TIMEOUT)
            .read_timeout(Duration::from_secs(30))
            .redirect(redirect)
            .dns_resolver(Arc::new(GuardedResolver::new(lookup, allow_private)))
            .user_agent(concat!("kura/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Network(e.to_string()))?;
        Ok(RemoteFetcher {
            client,
            allow_private,
        })
    }

    /// Starts the download: returns once the headers have arrived with a success status.
    pub async fn open(&self, url: &str) -> Result<reqwest::Response, FetchError> {
        let parsed = url::Url::parse(url).map_err(|_| FetchError::InvalidUrl)?;
        check_url(&parsed, self.allow_private)?;
        let response = tokio::time::timeout(HEADER_TIMEOUT, self.client.get(parsed).send())
            .await
            .map_err(|_| FetchError::Timeout)?
            .map_err(|e| describe(&e))?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        Ok(response)
    }
}

/// reqwest wraps the resolver's and redirect policy's refusals; find them again so the
/// client is told its URL was refused rather than that the network failed.
fn describe(error: &reqwest::Error) -> FetchError {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = source {
        let text = e.to_string();
        if text.contains("not allowed") {
            return FetchError::ForbiddenAddress(text);
        }
        source = e.source();
    }
    if error.is_timeout() {
        return FetchError::Timeout;
    }
    FetchError::Network(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn classifies_address_ranges() {
        assert_eq!(classify(ip("127.0.0.1")), AddressClass::Loopback);
        assert_eq!(classify(ip("10.1.2.3")), AddressClass::Private);
        assert_eq!(classify(ip("172.16.0.1")), AddressClass::Private);
        assert_eq!(classify(ip("172.32.0.1")), AddressClass::Public);
        assert_eq!(classify(ip("192.168.1.1")), AddressClass::Private);
        assert_eq!(classify(ip("169.254.169.254")), AddressClass::LinkLocal);
        assert_eq!(classify(ip("0.0.0.0")), AddressClass::Reserved);
        assert_eq!(classify(ip("100.64.0.1")), AddressClass::Reserved);
        assert_eq!(classify(ip("224.0.0.1")), AddressClass::Reserved);
        assert_eq!(classify(ip("255.255.255.255")), AddressClass::Reserved);
        assert_eq!(classify(ip("93.184.216.34")), AddressClass::Public);
        assert_eq!(classify(ip("::1")), AddressClass::Loopback);
        assert_eq!(classify(ip("::")), AddressClass::Reserved);
        assert_eq!(classify(ip("fd00::1")), AddressClass::Private);
        assert_eq!(classify(ip("fe80::1")), AddressClass::LinkLocal);
        assert_eq!(classify(ip("::ffff:127.0.0.1")), AddressClass::Loopback);
        assert_eq!(classify(ip("::ffff:10.0.0.1")), AddressClass::Private);
        assert_eq!(classify(ip("64:ff9b::a9fe:a9fe")), AddressClass::LinkLocal);
        assert_eq!(classify(ip("::127.0.0.1")), AddressClass::Reserved);
        assert_eq!(classify(ip("2606:4700::1111")), AddressClass::Public);
    }

    #[test]
    fn opt_in_allows_private_but_never_reserved() {
        assert!(!is_allowed(ip("127.0.0.1"), false));
        assert!(is_allowed(ip("127.0.0.1"), true));
        assert!(is_allowed(ip("10.0.0.1"), true));
        assert!(!is_allowed(ip("0.0.0.0"), true));
        assert!(is_allowed(ip("8.8.8.8"), false));
    }

    struct FixedLookup(Vec<IpAddr>);

    impl HostLookup for FixedLookup {
        fn lookup(
            &self,
            _host: String,
        ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
            let answer = self.0.clone();
            Box::pin(async move { Ok(answer) })
        }
    }

    #[tokio::test]
    async fn resolver_refuses_names_with_any_private_answer() {
        let guard = GuardedResolver::new(FixedLookup(vec![ip("93.184.216.34")]), false);
        assert!(guard.resolve_host("example.test").await.is_ok());
        let guard = GuardedResolver::new(
            FixedLookup(vec![ip("93.184.216.34"), ip("192.168.0.10")]),
            false,
        );
        assert!(matches!(
            guard.resolve_host("example.test").await,
            Err(FetchError::ForbiddenAddress(_))
        ));
        let guard = GuardedResolver::new(FixedLookup(vec![ip("169.254.169.254")]), false);
        assert!(matches!(
            guard.resolve_host("metadata.test").await,
            Err(FetchError::ForbiddenAddress(_))
        ));
    }

    #[tokio::test]
    async fn fetcher_refuses_before_connecting() {
        // The injected lookup points a name at a private address; the literal URLs never reach
        // the resolver. None of these makes a connection: the refusals happen first.
        let fetcher = RemoteFetcher::with_lookup(FixedLookup(vec![ip("10.0.0.5")]), false).unwrap();
        for url in [
            "http://internal.test/a.jpg",
            "http://10.0.0.5/a.jpg",
            "http://[::ffff:169.254.169.254]/latest",
            "http://0.0.0.0:80/",
        ] {
            assert!(
                matches!(
                    fetcher.open(url).await,
                    Err(FetchError::ForbiddenAddress(_))
                ),
                "{url} was not refused"
            );
        }
        assert!(matches!(
            fetcher.open("file:///etc/passwd").await,
            Err(FetchError::InvalidUrl)
        ));
        assert!(matches!(
            fetcher.open("not a url").await,
            Err(FetchError::InvalidUrl)
        ));
    }
}
