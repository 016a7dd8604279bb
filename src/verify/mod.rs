//! Opt-in live verification of found tokens (`--verify`): is a token active, what can it do,
//! when does it expire; and switching confirmed tokens off ([`revoke`]).
//!
//! The pipeline hands a batch of [`Candidate`]s (token id, [`Secret`], fingerprint, the rule's
//! [`CheckSpec`], the environments named in the token's context) to [`Verifier::verify_all`],
//! which checks each distinct token once, a bounded number at a time, and returns
//! [`Verifications`] keyed by fingerprint. Nothing here runs, loads or connects unless a
//! `Verifier` is used: a scan without `--verify` never reaches this module.
//!
//! Where a token may go: the user's configured environments ([`config`], `--environment`),
//! else the Dynatrace-run hosts named next to it ([`environments_in`]); never a host that only
//! a scanned file names and that Dynatrace does not run. See docs/verify.md.

pub mod config;
pub mod environment;
pub mod revoke;
pub mod risk;
pub mod secret;
pub mod spec;
pub mod status;
pub mod transport;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub use environment::{environments_in, Environment};
pub use secret::Secret;
pub use spec::{CheckSpec, Interpreter, Target};
pub use status::{Status, TokenInfo, Verification};
pub use transport::{Transport, TransportOptions};

/// Default number of calls in flight.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// Default number of environments tried for one token.
pub const DEFAULT_MAX_ENVIRONMENTS: usize = 4;

/// One found token to verify.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Prefix and public part (what reports show, and the id the access tokens API takes).
    pub token_id: String,
    /// The whole token.
    pub secret: Secret,
    /// `sha256:` + hex of the whole token: the key of the result.
    pub fingerprint: String,
    /// The rule's check.
    pub spec: Arc<CheckSpec>,
    /// Environments named in the token's context (its file, its commit's changes), from
    /// [`environments_in`]. Any that Dynatrace does not run is ignored.
    pub context: Vec<Environment>,
}

/// How verification runs.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Environments the user configured (`[verify] environments`, `--environment`). When set,
    /// they are the only ones tried; else the Dynatrace-run hosts of each token's context.
    pub environments: Vec<Environment>,
    /// Calls in flight at most.
    pub concurrency: usize,
    /// Environments tried per token at most.
    pub max_environments: usize,
    /// Timeout, response size, CA file, proxy.
    pub transport: TransportOptions,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            environments: Vec::new(),
            concurrency: DEFAULT_CONCURRENCY,
            max_environments: DEFAULT_MAX_ENVIRONMENTS,
            transport: TransportOptions::default(),
        }
    }
}

/// The result for one distinct token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Prefix and public part.
    pub token_id: String,
    /// What the check found.
    pub verification: Verification,
    /// Whether [`revoke`] can switch this token off (a Dynatrace access token).
    pub revocable: bool,
}

/// Results by fingerprint.
#[derive(Debug, Clone, Default)]
pub struct Verifications {
    by_fingerprint: HashMap<String, Verified>,
}

impl Verifications {
    /// Results gathered elsewhere (the pipeline's checks run as the scan goes).
    pub fn from_results(by_fingerprint: HashMap<String, Verified>) -> Verifications {
        Verifications { by_fingerprint }
    }

    /// The verification of the token with this fingerprint, if it was a candidate.
    pub fn get(&self, fingerprint: &str) -> Option<&Verification> {
        self.by_fingerprint.get(fingerprint).map(|v| &v.verification)
    }

    /// Every result, with its fingerprint, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Verified)> {
        self.by_fingerprint.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of distinct tokens.
    pub fn len(&self) -> usize {
        self.by_fingerprint.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_fingerprint.is_empty()
    }
}

/// One candidate per fingerprint, in order of first appearance, each with the context
/// environments of all its copies.
fn distinct(candidates: Vec<Candidate>) -> Vec<Candidate> {
    let mut order: Vec<Candidate> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for c in candidates {
        match index.get(&c.fingerprint) {
            Some(&i) => {
                for env in c.context {
                    if !order[i].context.contains(&env) {
                        order[i].context.push(env);
                    }
                }
            }
            None => {
                index.insert(c.fingerprint.clone(), order.len());
                order.push(c);
            }
        }
    }
    order
}

/// Runs checks. Building one is cheap; the HTTP client is made on the first call.
pub struct Verifier {
    options: VerifyOptions,
    transport: Transport,
}

impl Verifier {
    /// A verifier with these options.
    pub fn new(options: VerifyOptions) -> Verifier {
        let transport = Transport::new(options.transport.clone());
        Verifier { options, transport }
    }

    /// The transport, shared with [`revoke::revoke`].
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Verifies every distinct token of `candidates` once (copies of a token, by fingerprint,
    /// share one check and pool their context environments), at most `concurrency` calls at a
    /// time.
    pub fn verify_all(&self, candidates: Vec<Candidate>) -> Verifications {
        let order = distinct(candidates);
        let results: Mutex<HashMap<String, Verified>> = Mutex::new(HashMap::new());
        let next = AtomicUsize::new(0);
        let workers = self.options.concurrency.clamp(1, 64).min(order.len());
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(c) = order.get(i) else { break };
                    let verified = Verified {
                        token_id: c.token_id.clone(),
                        verification: self.verify_one(c),
                        revocable: c.spec.response == Interpreter::DynatraceApiToken,
                    };
                    results
                        .lock()
                        .expect("no panic holds the lock")
                        .insert(c.fingerprint.clone(), verified);
                });
            }
        });
        Verifications { by_fingerprint: results.into_inner().expect("workers done") }
    }

    /// The environments a candidate's check goes to, and how many more were left out.
    pub fn environments_for(&self, c: &Candidate) -> (Vec<Environment>, usize) {
        let all: Vec<Environment> = match &c.spec.target {
            Target::Fixed(env) => vec![env.clone()],
            Target::Environment if !self.options.environments.is_empty() => {
                self.options.environments.clone()
            }
            // From scanned text: only hosts Dynatrace runs, whatever the caller passed.
            Target::Environment => {
                c.context.iter().filter(|e| e.is_dynatrace_owned()).cloned().collect()
            }
        };
        let max = self.options.max_environments.max(1);
        let untried = all.len().saturating_sub(max);
        (all.into_iter().take(max).collect(), untried)
    }

    /// Verifies one token: its environments in order until one answers active or disabled.
    pub fn verify_one(&self, c: &Candidate) -> Verification {
        let (envs, untried) = self.environments_for(c);
        if envs.is_empty() {
            return Verification::unknown("no environment", None);
        }
        let Some(request) = c.spec.render(&c.secret) else {
            return Verification::unknown("the token is not text", None);
        };
        let mut tried = Vec::new();
        for env in &envs {
            let answer = self.transport.send(env, &request);
            let v = status::interpret(&c.spec.response, env, answer, &c.secret);
            if v.is_definitive() {
                return v;
            }
            tried.push(v);
        }
        status::combine(tried, untried)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(fp: &str, context: &[&str]) -> Candidate {
        Candidate {
            token_id: format!("dt0c01.{fp}"),
            secret: Secret::new(format!("dt0c01.{fp}.SECRET")),
            fingerprint: fp.into(),
            spec: Arc::new(CheckSpec::dynatrace_token_lookup()),
            context: context.iter().map(|u| Environment::parse(u).unwrap()).collect(),
        }
    }

    #[test]
    fn copies_share_one_check_and_pool_their_context() {
        let a = "https://aaa11111.live.dynatrace.com";
        let b = "https://bbb22222.live.dynatrace.com";
        let out =
            distinct(vec![cand("X", &[]), cand("Y", &[a]), cand("X", &[b]), cand("X", &[b, a])]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].fingerprint, "X");
        let ctx: Vec<&str> = out[0].context.iter().map(Environment::as_str).collect();
        assert_eq!(ctx, [b, a]);
        assert_eq!(out[1].context.len(), 1);
    }

    #[test]
    fn configured_environments_replace_the_context_and_context_must_be_dynatrace() {
        let dt = "https://aaa11111.live.dynatrace.com";
        let planted = cand("X", &[dt, "https://attacker.example", "http://127.0.0.1:1"]);
        let v = Verifier::new(VerifyOptions::default());
        let (envs, untried) = v.environments_for(&planted);
        assert_eq!(envs.iter().map(Environment::as_str).collect::<Vec<_>>(), [dt]);
        assert_eq!(untried, 0);
        let configured = Environment::parse("https://dt.corp.example/e/ENV").unwrap();
        let v = Verifier::new(VerifyOptions {
            environments: vec![configured.clone()],
            ..VerifyOptions::default()
        });
        assert_eq!(v.environments_for(&planted).0, [configured]);
    }
}
