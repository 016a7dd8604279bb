//! tokenguard: stops API tokens (Dynatrace first) from ever entering a git repository.
//!
//! Data flows one way:
//!
//! ```text
//! source (files | stdin | staged | history | push | tracked)  -> Unit (content + origin)
//!   -> pipeline: matcher (prefilter, rules, validation) -> allowlist   -> Finding
//!   -> sink: order and dedup stages, then a reporter (human | json | sarif) -> exit status
//! ```
//!
//! [`source`] never scans; [`pipeline`] never prints; [`report`] never decides an exit code;
//! [`app`] wires one command; every byte printed passes [`output`]'s masking writer.

pub mod allowlist;
pub mod app;
pub mod baseline;
pub mod cli;
pub mod commit_msg;
pub mod config;
pub mod error;
pub mod exit;
pub mod finding;
pub mod fs;
pub mod install;
pub mod mask;
pub mod matcher;
pub mod output;
pub mod pipeline;
pub mod report;
pub mod rules;
pub mod sanitize;
pub mod sink;
pub mod source;
pub mod stream;
pub mod unit;
pub mod verify;

pub use error::{Error, Result};
pub use exit::ExitStatus;
