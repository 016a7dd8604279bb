//! The one pipeline every scan runs: unit -> matcher -> (verification, opt-in) -> allowlist
//! -> finding, handed to a [`crate::sink::Sink`] by the command that drives it.
//!
//! A source yields [`Unit`]s and knows nothing of tokens; this module turns each unit's
//! content into findings ([`content`]), and for changes (a commit's files, a merge's
//! resolution) keeps only the tokens that the old versions did not hold ([`changes`]).

pub mod changes;
pub mod content;
pub mod verify;

use std::sync::Arc;

use crate::allowlist::Allowlist;
use crate::finding::Finding;
use crate::matcher::{Match, Matcher, Secret};
use crate::unit::{Content, Unit};

/// What a rule's findings say of it: id, description, provider, severity.
#[derive(Debug, Clone)]
pub(crate) struct RuleLabel {
    pub id: Arc<str>,
    pub description: Arc<str>,
    pub provider: Arc<str>,
    pub severity: crate::rules::Severity,
}

impl RuleLabel {
    /// The same label in new allocations (for findings made on another thread).
    pub fn copy(&self) -> RuleLabel {
        let fresh = |s: &Arc<str>| Arc::<str>::from(&**s);
        RuleLabel {
            id: fresh(&self.id),
            description: fresh(&self.description),
            provider: fresh(&self.provider),
            severity: self.severity,
        }
    }
}

/// The matcher and the allowlist together: what every unit is scanned with.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The compiled rules (shared: the built-in matcher is compiled once per process).
    pub matcher: Arc<Matcher>,
    /// What the user allowed.
    pub allowlist: Allowlist,
    /// Each rule's labels, shared by its findings.
    names: Vec<RuleLabel>,
    /// The verification stage, when asked for (`--verify`).
    checks: Option<Arc<verify::Checks>>,
}

impl Pipeline {
    /// A pipeline with the given rules and allowlist.
    pub fn new(matcher: impl Into<Arc<Matcher>>, allowlist: Allowlist) -> Self {
        let matcher = matcher.into();
        let names = matcher.rules().iter().map(|r| RuleLabel {
            id: r.id.as_str().into(),
            description: r.description.as_str().into(),
            provider: r.provider.as_str().into(),
            severity: r.severity,
        });
        Pipeline { names: names.collect(), matcher, allowlist, checks: None }
    }

    /// The same pipeline with a verification stage: tokens of rules that carry a check are
    /// queued for it as they are found.
    pub fn with_checks(mut self, checks: Arc<verify::Checks>) -> Self {
        self.checks = Some(checks);
        self
    }

    /// The matches of `hay`, each with its token's bytes when a check will need them (only
    /// when verifying: a scan without `--verify` never holds a token's bytes).
    pub(crate) fn matches(&self, hay: &[u8]) -> Vec<(Match, Option<Secret>)> {
        match &self.checks {
            Some(_) => {
                self.matcher.find_with_tokens(hay).into_iter().map(|(m, t)| (m, Some(t))).collect()
            }
            None => self.matcher.find(hay).into_iter().map(|m| (m, None)).collect(),
        }
    }

    /// Queues match `m` (its token `token`), found in `hay`, for its rule's check (when
    /// verifying).
    fn check(&self, m: &Match, token: Option<Secret>, hay: &[u8]) {
        let Some(checks) = &self.checks else { return };
        if !checks.checks(m.rule) {
            return;
        }
        let (Some(id), Some(token)) = (&m.token_id, token) else { return };
        // The text around the token (its file, as far as a window reaches) names its
        // environment, if anything does.
        let around =
            &hay[m.span.start.saturating_sub(CONTEXT)..(m.span.end + CONTEXT).min(hay.len())];
        checks.submit(m.rule, id, &m.fingerprint, token, around);
    }

    /// Scans one unit, handing each finding (blocking or allowed) to `emit` in order.
    pub fn scan(&self, unit: Unit<'_>, emit: &mut dyn FnMut(Finding)) -> std::io::Result<()> {
        let origin = &unit.origin;
        match unit.content {
            Content::Reader(reader) => self.scan_reader(reader, origin, emit)?,
            Content::File(file) => self.scan_file(file, origin, emit)?,
            Content::Bytes(bytes) => self.scan_bytes(bytes, origin, emit),
            Content::Added(added) => self.scan_added(added, origin, emit),
            Content::Binary { new, old } => self.scan_binary(new, old, origin, emit),
        }
        Ok(())
    }

    /// The findings of one unit, collected.
    pub fn findings(&self, unit: Unit<'_>) -> std::io::Result<Vec<Finding>> {
        let mut out = Vec::new();
        self.scan(unit, &mut |f| out.push(f))?;
        Ok(out)
    }
}

/// Bytes around a token searched for the environment it belongs to.
const CONTEXT: usize = 64 << 10;
