//! tokenguard: stops API tokens (Dynatrace first) from ever entering a git repository.
//!
//! Data flows one way: a source (staged diff, history, files, stdin) yields added lines with
//! their origin; the [`matcher`] finds tokens in them; the [`allowlist`] drops what the user
//! allowed and records why; a [`report`] prints the rest to an injected writer.

pub mod allowlist;
pub mod app;
pub mod baseline;
pub mod cli;
pub mod config;
pub mod error;
pub mod finding;
pub mod install;
pub mod mask;
pub mod matcher;
pub mod report;
pub mod rules;
pub mod scan;
pub mod source;
pub mod stream;
pub mod verify;

pub use error::{Error, Result};
