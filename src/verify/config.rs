//! The `[verify]` table of a configuration file: raw serde type, then validation.
//!
//! ```toml
//! [verify]
//! environments = ["https://abc12345.live.dynatrace.com", "https://dt.corp.example/e/ENV-ID"]
//! timeout = 5            # seconds per call
//! concurrency = 8        # calls in flight
//! max_environments = 4   # environments tried per token
//! ca_file = "/etc/ssl/certs/corp-proxy.pem"   # user's file only
//! pre_commit = true      # verify in the pre-commit hook; user's file only
//! ```
//!
//! Where a file comes from matters ([`Origin`]): a repository's own `.tokenguard.toml` is a
//! scanned file, which a hostile contributor can edit. It may name only environments that
//! Dynatrace runs, and may not set `ca_file` or `pre_commit`. Managed and ActiveGate URLs, a
//! CA file and verification in the hook come from the user's own configuration or the
//! command line.

use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::environment::Environment;
use super::transport::TransportOptions;
use super::{VerifyOptions, DEFAULT_CONCURRENCY, DEFAULT_MAX_ENVIRONMENTS};

/// The `[verify]` table as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVerify {
    /// Environment URLs.
    #[serde(default)]
    pub environments: Vec<Spanned<String>>,
    /// Seconds per call.
    pub timeout: Option<Spanned<f64>>,
    /// Calls in flight.
    pub concurrency: Option<Spanned<i64>>,
    /// Environments tried per token.
    pub max_environments: Option<Spanned<i64>>,
    /// PEM file of extra trusted certificates.
    pub ca_file: Option<Spanned<String>>,
    /// Verify in the pre-commit hook too.
    pub pre_commit: Option<Spanned<bool>>,
}

/// Which file a table comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The user's own configuration (`~/.config/tokenguard/config.toml`) or one the user named
    /// outside the repository.
    User,
    /// A file of the scanned repository (`.tokenguard.toml`).
    Repository,
}

/// A problem in the table: the dotted key, where it is in the file, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// E.g. `verify.environments[1]`.
    pub key: String,
    /// Byte range in the file.
    pub span: Option<Range<usize>>,
    /// What is wrong (never quotes a value).
    pub message: String,
}

/// The validated settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VerifyConfig {
    /// Environments to use instead of the ones named next to tokens.
    pub environments: Vec<Environment>,
    /// Time per call.
    pub timeout: Option<Duration>,
    /// Calls in flight.
    pub concurrency: Option<usize>,
    /// Environments tried per token.
    pub max_environments: Option<usize>,
    /// Extra trusted certificates.
    pub ca_file: Option<PathBuf>,
    /// Whether the pre-commit hook verifies (only the user's file can say so).
    pub pre_commit: bool,
}

fn issue<T>(key: &str, span: Range<usize>, message: impl Into<String>) -> Result<T, ConfigIssue> {
    Err(ConfigIssue { key: key.into(), span: Some(span), message: message.into() })
}

/// Validates a `[verify]` table read from a file of `origin`.
pub fn validate(raw: &RawVerify, origin: Origin) -> Result<VerifyConfig, ConfigIssue> {
    let mut out = VerifyConfig::default();
    for (i, e) in raw.environments.iter().enumerate() {
        let key = format!("verify.environments[{i}]");
        let env = match Environment::parse(e.get_ref()) {
            Ok(env) => env,
            Err(m) => return issue(&key, e.span(), m),
        };
        if origin == Origin::Repository && !env.is_dynatrace_owned() {
            return issue(
                &key,
                e.span(),
                "a repository's configuration may name only environments Dynatrace runs \
                 (https://{id}.live.dynatrace.com); put Managed and ActiveGate URLs in your own \
                 configuration or on the command line (--environment)",
            );
        }
        if !out.environments.contains(&env) {
            out.environments.push(env);
        }
    }
    if let Some(t) = &raw.timeout {
        let secs = *t.get_ref();
        if !(0.1..=120.0).contains(&secs) {
            return issue("verify.timeout", t.span(), "seconds per call, from 0.1 to 120");
        }
        out.timeout = Some(Duration::from_secs_f64(secs));
    }
    if let Some(c) = &raw.concurrency {
        if !(1..=64).contains(c.get_ref()) {
            return issue("verify.concurrency", c.span(), "calls in flight, from 1 to 64");
        }
        out.concurrency = Some(*c.get_ref() as usize);
    }
    if let Some(m) = &raw.max_environments {
        if !(1..=16).contains(m.get_ref()) {
            return issue(
                "verify.max_environments",
                m.span(),
                "environments per token, from 1 to 16",
            );
        }
        out.max_environments = Some(*m.get_ref() as usize);
    }
    if let Some(f) = &raw.ca_file {
        if origin == Origin::Repository {
            return issue(
                "verify.ca_file",
                f.span(),
                "only your own configuration may add trusted certificates",
            );
        }
        if f.get_ref().trim().is_empty() {
            return issue("verify.ca_file", f.span(), "a path to a PEM file");
        }
        out.ca_file = Some(PathBuf::from(f.get_ref()));
    }
    if let Some(p) = &raw.pre_commit {
        if origin == Origin::Repository && *p.get_ref() {
            return issue(
                "verify.pre_commit",
                p.span(),
                "only your own configuration may turn on verification in the pre-commit hook",
            );
        }
        out.pre_commit = *p.get_ref();
    }
    Ok(out)
}

impl VerifyConfig {
    /// Adds `later` (the repository's settings after the user's): environments are joined, a
    /// number set later wins, `ca_file` and `pre_commit` stay the user's.
    pub fn merge(&mut self, later: VerifyConfig) {
        for e in later.environments {
            if !self.environments.contains(&e) {
                self.environments.push(e);
            }
        }
        self.timeout = later.timeout.or(self.timeout);
        self.concurrency = later.concurrency.or(self.concurrency);
        self.max_environments = later.max_environments.or(self.max_environments);
        self.ca_file = self.ca_file.take().or(later.ca_file);
        self.pre_commit |= later.pre_commit;
    }

    /// The options of a run: `cli_environments` (`--environment`) first, then the configured
    /// ones; defaults for the rest.
    pub fn options(&self, cli_environments: &[Environment]) -> VerifyOptions {
        let mut environments = cli_environments.to_vec();
        for e in &self.environments {
            if !environments.contains(e) {
                environments.push(e.clone());
            }
        }
        let defaults = TransportOptions::default();
        VerifyOptions {
            environments,
            concurrency: self.concurrency.unwrap_or(DEFAULT_CONCURRENCY),
            max_environments: self.max_environments.unwrap_or(DEFAULT_MAX_ENVIRONMENTS),
            transport: TransportOptions {
                timeout: self.timeout.unwrap_or(defaults.timeout),
                ca_file: self.ca_file.clone(),
                ..defaults
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        verify: RawVerify,
    }

    fn parse(text: &str, origin: Origin) -> Result<VerifyConfig, ConfigIssue> {
        let f: File = toml::from_str(text).expect("valid TOML");
        validate(&f.verify, origin)
    }

    #[test]
    fn reads_every_setting() {
        let c = parse(
            "[verify]\nenvironments = [\"https://abc12345.live.dynatrace.com/\", \"https://dt.corp.example/e/ENV\"]\n\
             timeout = 2\nconcurrency = 16\nmax_environments = 2\nca_file = \"/etc/corp.pem\"\npre_commit = true\n",
            Origin::User,
        )
        .unwrap();
        assert_eq!(c.environments.len(), 2);
        assert_eq!(c.timeout, Some(Duration::from_secs(2)));
        assert_eq!((c.concurrency, c.max_environments), (Some(16), Some(2)));
        assert!(c.pre_commit && c.ca_file.is_some());
        let o = c.options(&[Environment::parse("http://127.0.0.1:9").unwrap()]);
        assert_eq!(o.environments[0].as_str(), "http://127.0.0.1:9");
        assert_eq!(o.environments.len(), 3);
        assert_eq!(o.transport.timeout, Duration::from_secs(2));
        assert_eq!(
            parse("[verify]\ntimeout = 0.5", Origin::User).unwrap().timeout,
            Some(Duration::from_millis(500))
        );
    }

    #[test]
    fn unknown_keys_fail() {
        let r: Result<File, _> = toml::from_str("[verify]\nenvironment = []\n");
        assert!(r.err().unwrap().message().contains("unknown field"));
    }

    #[test]
    fn a_repository_cannot_send_tokens_elsewhere() {
        let text = "[verify]\nenvironments = [\"https://abc12345.live.dynatrace.com\", \"https://attacker.example\"]";
        let e = parse(text, Origin::Repository).unwrap_err();
        assert_eq!(e.key, "verify.environments[1]");
        assert!(e.message.contains("only environments Dynatrace runs"));
        assert!(parse(text, Origin::User).is_ok());
        let e = parse("[verify]\nca_file = \"x.pem\"", Origin::Repository).unwrap_err();
        assert_eq!(e.key, "verify.ca_file");
        let e = parse("[verify]\npre_commit = true", Origin::Repository).unwrap_err();
        assert_eq!(e.key, "verify.pre_commit");
        assert!(parse("[verify]\npre_commit = false", Origin::Repository).is_ok());
    }

    #[test]
    fn values_out_of_range_name_their_key() {
        for (text, key) in [
            ("[verify]\ntimeout = 0", "verify.timeout"),
            ("[verify]\ntimeout = 500", "verify.timeout"),
            ("[verify]\nconcurrency = 0", "verify.concurrency"),
            ("[verify]\nmax_environments = 99", "verify.max_environments"),
            ("[verify]\nenvironments = [\"http://dt.corp.example\"]", "verify.environments[0]"),
            ("[verify]\nca_file = \" \"", "verify.ca_file"),
        ] {
            let e = parse(text, Origin::User).unwrap_err();
            assert_eq!(e.key, key, "{text}");
            assert!(e.span.is_some());
        }
    }

    #[test]
    fn merge_keeps_the_users_trust_settings() {
        let mut user =
            parse("[verify]\nca_file = \"/u.pem\"\npre_commit = true\ntimeout = 3", Origin::User)
                .unwrap();
        let repo = parse(
            "[verify]\nenvironments = [\"https://abc12345.live.dynatrace.com\"]\ntimeout = 1",
            Origin::Repository,
        )
        .unwrap();
        user.merge(repo);
        assert_eq!(user.ca_file, Some(PathBuf::from("/u.pem")));
        assert!(user.pre_commit);
        assert_eq!(user.timeout, Some(Duration::from_secs(1)));
        assert_eq!(user.environments.len(), 1);
    }
}
