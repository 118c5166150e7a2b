//! Server and HTTP: where Switchboard listens, the public URL Twilio calls, which proxies are
//! believed, and the limits of one request.

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;
use url::Url;

use super::input::{fail, parse_http_url};

/// Where Switchboard listens and what it accepts.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub port: u16,
    pub host: IpAddr,
    pub app_url: Url,
    /// Whether `APP_URL` was given: then it (and `app_url_aliases`) decide which URL Twilio signed,
    /// never a client's `X-Forwarded-Host`.
    pub app_url_explicit: bool,
    pub app_url_aliases: Vec<Url>,
    pub trusted_proxies: Vec<IpNet>,
    pub body_limit_bytes: usize,
    pub request_timeout: Duration,
}

impl ServerConfig {
    /// The public base URLs Twilio may call this deployment on: `APP_URL`, then `APP_URL_ALIASES`.
    pub fn public_base_urls(&self) -> impl Iterator<Item = &Url> {
        std::iter::once(&self.app_url).chain(&self.app_url_aliases)
    }

    /// The host names of [`ServerConfig::public_base_urls`], lower-case: URLs that tenant-supplied
    /// TwiML may not name, because Twilio's request to them would be signed.
    pub fn public_hosts(&self) -> Vec<String> {
        self.public_base_urls()
            .filter_map(|u| u.host_str())
            .map(str::to_ascii_lowercase)
            .collect()
    }
}

/// This concern's settings, handed to `$cb` (see [`super::declare`]).
macro_rules! declare {
    ($cb:ident ! ($($args:tt)*)) => { $cb! { [
        /// HTTP port
        port: u16 = |v| v.number(3000, 1, 65535);

        /// address to bind
        host: IpAddr = |v| match v.text() {
            None => {
                v.show("0.0.0.0");
                Ok(IpAddr::from([0, 0, 0, 0]))
            }
            Some(s) => s.parse().map_err(|_| v.fail(s, "is not an IP address")),
        };

        /// public base URL Twilio calls: used for webhook signatures and callback URLs. When set, it
        /// alone (with its aliases) decides which URL a signature must cover; see "Twilio webhooks"
        #[default = "`http://localhost:PORT`"]
        app_url: Option<Url> = |v| {
            let given = v.http_url()?;
            if given.is_none() {
                v.show(default_app_url(port));
            }
            Ok(given)
        };

        /// comma-separated other public base URLs Twilio may call this deployment on (say an old
        /// domain); signatures for them are accepted too. Needs `APP_URL`
        #[default = "none"]
        app_url_aliases: Vec<Url> = |v| {
            let aliases = v
                .list()
                .map(|s| parse_http_url(v.var, s))
                .collect::<Result<Vec<_>, _>>()?;
            if !aliases.is_empty() && app_url.is_none() {
                return Err(v.fail(
                    v.text().unwrap_or(""),
                    "needs APP_URL: aliases are other names of the public URL it sets",
                ));
            }
            Ok(aliases)
        };

        /// comma-separated IPs/CIDRs of your reverse proxies; only their `X-Forwarded-For` is
        /// believed
        #[default = "none"]
        trusted_proxies: Vec<IpNet> = |v| {
            v.list()
                .map(|item| {
                    item.parse::<IpNet>()
                        .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                        .map_err(|_| fail(v.var, item, "is not an IP address or CIDR range"))
                })
                .collect::<Result<Vec<_>, _>>()
        };

        /// largest request body
        body_limit_bytes: usize = |v| v.number(1_048_576, 1024, 100 * 1_048_576);

        /// per-request timeout (under Twilio's 15 s webhook budget)
        request_timeout_secs: u64 = |v| v.number(14, 1, 3600);
    ] [
        => ServerConfig = ServerConfig {
            port,
            host,
            app_url_explicit: app_url.is_some(),
            app_url: app_url.unwrap_or_else(|| default_app_url(port)),
            app_url_aliases,
            trusted_proxies,
            body_limit_bytes,
            request_timeout: Duration::from_secs(request_timeout_secs),
        }
    ] $($args)* } };
}
pub(super) use declare;

declare!(settings!());

/// `http://localhost:PORT`, the public URL when `APP_URL` is not given.
fn default_app_url(port: u16) -> Url {
    Url::parse(&format!("http://localhost:{port}")).expect("static URL")
}
