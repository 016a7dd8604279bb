//! The one pipeline every scan runs: unit -> matcher -> (verification, opt-in) -> allowlist
//! -> finding, handed to a [`crate::sink::Sink`] by the command that drives it.
//!
//! A source yields [`Unit`]s and knows nothing of tokens; this module turns each unit's
//! content into findings ([`content`]), and for changes (a commit's files, a merge's
//! resolution) keeps only the tokens that the old versions did not hold ([`changes`]).

pub mod changes;
pub mod content;

use std::sync::Arc;

use crate::allowlist::Allowlist;
use crate::finding::Finding;
use crate::matcher::Matcher;
use crate::unit::{Content, Unit};

/// The matcher and the allowlist together: what every unit is scanned with.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The compiled rules.
    pub matcher: Matcher,
    /// What the user allowed.
    pub allowlist: Allowlist,
    /// Each rule's id and description, shared by its findings.
    names: Vec<(Arc<str>, Arc<str>)>,
}

impl Pipeline {
    /// A pipeline with the given rules and allowlist.
    pub fn new(matcher: Matcher, allowlist: Allowlist) -> Self {
        let names =
            matcher.rules().iter().map(|r| (r.id.as_str().into(), r.description.as_str().into()));
        Pipeline { names: names.collect(), matcher, allowlist }
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
