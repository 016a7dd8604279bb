//! `tokenguard install` / `uninstall`: the git hooks.

use std::path::PathBuf;

use super::{write_out, Io};
use crate::install::HookKind;
use crate::{Error, ExitStatus, Result};

/// `tokenguard install` / `uninstall`'s options.
#[derive(Debug, Clone)]
pub struct HookOptions {
    /// Which hooks; empty: every client-side hook that can block (install), every tokenguard
    /// hook (uninstall).
    pub hooks: Vec<HookKind>,
    /// Move a taken `HOOK.local` aside instead of refusing.
    pub force: bool,
    /// Repository (default: the one of the current folder).
    pub repo: Option<PathBuf>,
}

/// Installs the hooks.
pub fn install(args: &HookOptions, io: &mut Io) -> Result<ExitStatus> {
    let dir = args.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let binary = std::env::current_exe()
        .map_err(|source| Error::Read { path: "the tokenguard binary".into(), source })?;
    let actions = crate::install::install(&dir, &args.hooks, &binary, args.force)?;
    print_actions(&actions, io)
}

/// Removes the hooks (restoring chained ones).
pub fn uninstall(args: &HookOptions, io: &mut Io) -> Result<ExitStatus> {
    let dir = args.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    print_actions(&crate::install::uninstall(&dir, &args.hooks)?, io)
}

fn print_actions(actions: &[crate::install::Action], io: &mut Io) -> Result<ExitStatus> {
    let mut text = String::new();
    for a in actions {
        let line = format!("tokenguard: {a}");
        text.push_str(&crate::sanitize::for_terminal(&line));
        text.push('\n');
    }
    write_out(&mut io.out, &text)?;
    Ok(ExitStatus::Clean)
}
