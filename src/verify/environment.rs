//! Dynatrace environments: where a token is looked up.
//!
//! Two ways in. [`Environment::parse`] takes a URL the *user* gave (configuration, command
//! line): SaaS `https://{id}.live.dynatrace.com`, Managed `https://{domain}/e/{env-id}`,
//! ActiveGate `https://{host}:9999/e/{env-id}`, or `http://` to a loopback address.
//! [`environments_in`] reads scanned text and keeps only hosts that Dynatrace itself runs
//! (`{id}.live.dynatrace.com`, `{id}.apps.dynatrace.com` mapped to its `live` API host, and
//! Dynatrace's sprint and dev hosts under `dynatracelabs.com`); it builds each URL itself from
//! the environment id, so nothing else in the text (user info, port, path, a longer host) can
//! steer a token elsewhere. A hostile repository can write `DT_URL=https://attacker.example`
//! next to a token; that host is never called.

use std::fmt;
use std::net::IpAddr;
use std::sync::OnceLock;

use regex::bytes::Regex;

/// The API base URL of one environment: scheme, host, optional port and path prefix, with no
/// trailing slash (e.g. `https://abc12345.live.dynatrace.com`, `https://dt.example.com/e/ENV`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Environment {
    url: String,
    https: bool,
    host_start: usize,
    host_end: usize,
}

/// The Dynatrace-run host suffixes recognised in scanned text, and the API host suffix each
/// maps to. An `apps` host serves the platform; the classic API of the same environment is on
/// the matching `live` (or labs) host.
const DYNATRACE_HOSTS: &[(&str, &str)] = &[
    ("live.dynatrace.com", "live.dynatrace.com"),
    ("apps.dynatrace.com", "live.dynatrace.com"),
    ("sprint.dynatracelabs.com", "sprint.dynatracelabs.com"),
    ("sprint.apps.dynatracelabs.com", "sprint.dynatracelabs.com"),
    ("dev.dynatracelabs.com", "dev.dynatracelabs.com"),
    ("dev.apps.dynatracelabs.com", "dev.dynatracelabs.com"),
];

impl Environment {
    /// Parses and normalises a URL the user configured. `https://` anywhere; `http://` only to
    /// a loopback address. No user info, query or fragment. A trailing `/`, `/api`, `/api/v1`
    /// or `/api/v2` is dropped; an `apps` host of Dynatrace SaaS becomes its `live` API host.
    pub fn parse(text: &str) -> Result<Environment, String> {
        let text = text.trim();
        let (https, rest) = if let Some(r) = strip_prefix_ci(text, "https://") {
            (true, r)
        } else if let Some(r) = strip_prefix_ci(text, "http://") {
            (false, r)
        } else {
            return Err("an environment URL starts with https://".into());
        };
        if rest.contains(['?', '#']) {
            return Err("an environment URL has no query or fragment".into());
        }
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err("an environment URL carries no user name or password".into());
        }
        let (host, port) = split_host_port(authority)?;
        let host = host.to_ascii_lowercase();
        if !valid_host(&host) {
            return Err("the environment URL has no valid host name".into());
        }
        if !https && !is_loopback_host(&host) {
            return Err("plain http:// is allowed only to a loopback address (127.0.0.1, [::1], \
                        localhost); use https://"
                .into());
        }
        let mut path = path.trim_end_matches('/');
        for suffix in ["/api/v2", "/api/v1", "/api"] {
            if let Some(p) = path.strip_suffix(suffix) {
                path = p.trim_end_matches('/');
                break;
            }
        }
        if !path.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~/".contains(&b))
            || path.contains("//")
            || path.split('/').any(|seg| seg == "..")
        {
            return Err("the environment URL's path may hold only letters, digits, `-._~/`".into());
        }
        let host = match (dynatrace_api_host(&host), port, path.is_empty()) {
            (Some(api), None, true) => api,
            _ => host,
        };
        let scheme = if https { "https://" } else { "http://" };
        let port_text = port.map(|p| format!(":{p}")).unwrap_or_default();
        let url = format!("{scheme}{host}{port_text}{path}");
        let host_start = scheme.len();
        Ok(Environment { host_end: host_start + host.len(), url, https, host_start })
    }

    /// The SaaS (or labs) environment `{id}` on the Dynatrace API host `suffix`.
    fn dynatrace(id: &str, suffix: &str) -> Environment {
        let url = format!("https://{id}.{suffix}");
        Environment { host_start: 8, host_end: url.len(), url, https: true }
    }

    /// The base URL, as sent and shown.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// The host name (lower case; an IPv6 address keeps its brackets).
    pub fn host(&self) -> &str {
        &self.url[self.host_start..self.host_end]
    }

    /// Whether the URL is `https://`.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// Whether the host is a loopback address or `localhost`.
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(self.host())
    }

    /// Whether the host is one Dynatrace runs (SaaS `live`/`apps`, sprint, dev): such an
    /// environment may come from scanned text.
    pub fn is_dynatrace_owned(&self) -> bool {
        self.https && self.url.len() == self.host_end && dynatrace_api_host(self.host()).is_some()
    }

    /// `base + path` (`path` starts with `/`).
    pub fn join(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Environment({})", self.url)
    }
}

impl serde::Serialize for Environment {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.url)
    }
}

/// For `{id}.{suffix}` on a Dynatrace-run suffix: the API host of that environment.
fn dynatrace_api_host(host: &str) -> Option<String> {
    for (suffix, api) in DYNATRACE_HOSTS {
        if let Some(id) = host.strip_suffix(suffix).and_then(|h| h.strip_suffix('.')) {
            if valid_env_label(id) {
                return Some(format!("{id}.{api}"));
            }
        }
    }
    None
}

/// An environment id as it stands in a host name: one DNS label.
fn valid_env_label(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 63
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-')
}

/// Labels that documentation and templates use in place of a real environment id: calling
/// them would only waste a call (they are still Dynatrace's hosts, so never a leak).
fn placeholder_label(id: &str) -> bool {
    const WORDS: &[&str] = &["your", "example", "sample", "placeholder", "tenant", "environment"];
    let first = id.as_bytes()[0];
    WORDS.iter().any(|w| id.contains(w)) || id.bytes().all(|b| b == first)
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let close = rest.find(']').ok_or("unclosed `[` in the host")?;
        let after = &rest[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err("unexpected text after the host".into()),
        };
        (&authority[..close + 2], port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => Some(
            p.parse::<u16>().ok().filter(|&p| p != 0).ok_or("the port is not a number 1..65535")?,
        ),
        None => None,
    };
    Ok((host, port))
}

fn valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn is_loopback_host(host: &str) -> bool {
    if host == "localhost" {
        return true;
    }
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn host_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let suffixes: Vec<String> = DYNATRACE_HOSTS.iter().map(|(s, _)| regex::escape(s)).collect();
        let pattern = format!(r"(?i)([a-z0-9][a-z0-9-]{{0,62}})\.({})", suffixes.join("|"));
        Regex::new(&pattern).expect("static pattern")
    })
}

fn host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// The Dynatrace-run environments named in `text` (a file, or a commit's changes), in order of
/// first mention, each as its API base URL. Only hosts Dynatrace runs are taken; any other URL
/// in the text (Managed, ActiveGate, anyone's) is ignored: those come from configuration.
pub fn environments_in(text: &[u8]) -> Vec<Environment> {
    let mut out: Vec<Environment> = Vec::new();
    // Cheap test first: most files name no Dynatrace host at all.
    static WORD: OnceLock<aho_corasick::AhoCorasick> = OnceLock::new();
    let word = WORD.get_or_init(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(["dynatrace"])
            .expect("static pattern")
    });
    if !word.is_match(text) {
        return out;
    }
    for caps in host_regex().captures_iter(text) {
        let whole = caps.get(0).expect("match");
        let (start, end) = (whole.start(), whole.end());
        // A longer host on either side (`x.abc.live.dynatrace.com`,
        // `abc.live.dynatrace.com.attacker.example`) is not Dynatrace's.
        if start > 0 && (host_byte(text[start - 1]) || text[start - 1] == b'.') {
            continue;
        }
        match text.get(end) {
            Some(&b) if host_byte(b) => continue,
            Some(b'.') if text.get(end + 1).is_some_and(|&b| host_byte(b)) => continue,
            _ => {}
        }
        let id = String::from_utf8_lossy(&caps[1]).to_ascii_lowercase();
        let suffix = String::from_utf8_lossy(&caps[2]).to_ascii_lowercase();
        if !valid_env_label(&id) || placeholder_label(&id) {
            continue;
        }
        let api = DYNATRACE_HOSTS.iter().find(|(s, _)| *s == suffix).map(|(_, a)| *a);
        let Some(api) = api else { continue };
        let env = Environment::dynatrace(&id, api);
        if !out.contains(&env) {
            out.push(env);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(text: &str) -> Vec<String> {
        environments_in(text.as_bytes()).iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn parses_the_three_documented_shapes() {
        let saas = Environment::parse("https://abc12345.live.dynatrace.com/").unwrap();
        assert_eq!(saas.as_str(), "https://abc12345.live.dynatrace.com");
        assert!(saas.is_dynatrace_owned());
        let managed = Environment::parse("https://dt.corp.example/e/1234-abcd/api/v2").unwrap();
        assert_eq!(managed.as_str(), "https://dt.corp.example/e/1234-abcd");
        assert!(!managed.is_dynatrace_owned());
        let ag = Environment::parse("HTTPS://AG.corp.example:9999/e/ENV1").unwrap();
        assert_eq!(ag.as_str(), "https://ag.corp.example:9999/e/ENV1");
        assert_eq!(ag.host(), "ag.corp.example");
        assert_eq!(
            ag.join("/api/v2/apiTokens/lookup"),
            "https://ag.corp.example:9999/e/ENV1/api/v2/apiTokens/lookup"
        );
    }

    #[test]
    fn apps_host_maps_to_the_live_api_host() {
        let e = Environment::parse("https://abc12345.apps.dynatrace.com").unwrap();
        assert_eq!(e.as_str(), "https://abc12345.live.dynatrace.com");
        let e = Environment::parse("https://abc12345.sprint.apps.dynatracelabs.com").unwrap();
        assert_eq!(e.as_str(), "https://abc12345.sprint.dynatracelabs.com");
    }

    #[test]
    fn refuses_what_could_leak_or_confuse() {
        for bad in [
            "abc12345.live.dynatrace.com",
            "ftp://abc.example",
            "http://dt.corp.example/e/ENV",
            "http://10.0.0.1:8080",
            "https://user:pw@dt.corp.example",
            "https://dt.corp.example/?x=1",
            "https://dt.corp.example/#x",
            "https://dt.corp.example:0",
            "https://dt.corp.example:99999",
            "https://",
            "https://exa mple.com",
            "https://dt.corp.example/e/../x",
            "https://[::1",
        ] {
            assert!(Environment::parse(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://[::1]:99/e/X",
            "http://localhost:1",
        ] {
            let e = Environment::parse(ok).unwrap();
            assert!(e.is_loopback() && !e.is_https(), "{ok}");
        }
        assert_eq!(Environment::parse("http://[::1]:99/e/X").unwrap().host(), "[::1]");
    }

    #[test]
    fn finds_only_dynatrace_run_hosts() {
        let text = "DT_URL=https://attacker.example\n\
                    DT_MANAGED=https://dt.corp.example/e/abc\n\
                    url: https://abc12345.live.dynatrace.com/api/v2\n\
                    apps: https://xyz98765.apps.dynatrace.com/ui\n\
                    sprint: qqq11111.sprint.apps.dynatracelabs.com, dev: DDD22222.DEV.dynatracelabs.com.\n\
                    again: abc12345.live.dynatrace.com";
        assert_eq!(
            urls(text),
            [
                "https://abc12345.live.dynatrace.com",
                "https://xyz98765.live.dynatrace.com",
                "https://qqq11111.sprint.dynatracelabs.com",
                "https://ddd22222.dev.dynatracelabs.com",
            ]
        );
    }

    #[test]
    fn longer_hosts_and_tricks_are_not_dynatrace() {
        assert!(urls("https://abc12345.live.dynatrace.com.attacker.example/").is_empty());
        assert!(urls("https://abc12345.live.dynatrace.comx/").is_empty());
        assert!(urls("https://x.abc12345.live.dynatrace.com/").is_empty());
        assert!(urls("https://abc12345-live.dynatrace.com/").is_empty());
        assert!(urls("https://attacker.example/?u=abc12345.live.dynatrace.comevil").is_empty());
        // User info before a Dynatrace host: the URL built is Dynatrace's own, nothing else.
        assert_eq!(
            urls("https://abc12345.live.dynatrace.com@attacker.example/"),
            ["https://abc12345.live.dynatrace.com"]
        );
        assert!(urls("https://your-environment-id.live.dynatrace.com").is_empty());
        assert!(urls("https://xxxxxxxx.live.dynatrace.com").is_empty());
        assert!(urls("no host here").is_empty());
    }
}
