//! Command-line types (clap derive) and nothing else.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::report::Format;

/// Stops API tokens (Dynatrace first) from ever entering a git repository.
#[derive(Debug, Parser)]
#[command(name = "tokenguard", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan files, folders, stdin (`-`), the staged diff (--staged) or history (--history).
    Scan(ScanArgs),
    /// Copy input to output with every secret part replaced by `*` (a filter for logs).
    Mask(MaskArgs),
    /// List the built-in rules and the known documentation examples.
    Rules(RulesArgs),
    /// Write a baseline of the findings already in the repository's files.
    Baseline(BaselineArgs),
    /// Install the git hook into the repository.
    Install(InstallArgs),
    /// Remove the git hook that `install` wrote (restoring a chained hook).
    Uninstall(InstallArgs),
    /// Print the completion script for a shell (install.sh places it; docs/shell.md).
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or write one page per command into a folder.
    Manpage(ManpageArgs),
}

/// `tokenguard manpage`.
#[derive(Debug, Args)]
pub struct ManpageArgs {
    /// Write tokenguard.1 and a page per command (tokenguard-scan.1, ...) into DIR instead of
    /// printing tokenguard.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Parses the process's arguments. `version` is what `--version` prints (the binary passes
/// its version and the commit it was built from).
pub fn parse(version: &'static str) -> Result<Cli, clap::Error> {
    let mut cmd = Cli::command().version(version);
    let matches = cmd.try_get_matches_from_mut(std::env::args_os())?;
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
}

/// `tokenguard completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// When to colour the human report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Options every scan shares.
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// When to use colours in the human report.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// List allowed findings with the reason, and say so when nothing was found.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Options for the configuration and the baseline.
#[derive(Debug, Args, Clone, Default)]
pub struct ConfigArgs {
    /// Configuration file (default: .tokenguard.toml at the work tree root, or TOKENGUARD_CONFIG).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Baseline file (default: .tokenguard-baseline.json at the work tree root, if present).
    #[arg(long, value_name = "FILE", conflicts_with = "no_baseline")]
    pub baseline: Option<PathBuf>,
    /// Ignore the baseline file.
    #[arg(long)]
    pub no_baseline: bool,
}

/// `tokenguard scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files and folders (`-` for standard input); with --history, revisions and ranges; with
    /// --staged, files to scan (their staged added lines, else their whole content).
    /// (Paths need not be UTF-8: git allows any bytes in a file name.)
    #[arg(value_name = "PATH|REV")]
    pub targets: Vec<std::ffi::OsString>,
    /// Scan the lines that the next commit adds (what the pre-commit hook runs).
    #[arg(long, conflicts_with_all = ["history", "pre_push", "pre_receive"])]
    pub staged: bool,
    /// Scan the history: every commit reachable from any ref, or the given ranges.
    #[arg(long, conflicts_with_all = ["pre_push", "pre_receive"])]
    pub history: bool,
    /// Scan what git's pre-push hook is about to push (reads its lines from stdin).
    #[arg(long, conflicts_with = "pre_receive")]
    pub pre_push: bool,
    /// Scan what a server's pre-receive hook receives (reads its lines from stdin).
    #[arg(long)]
    pub pre_receive: bool,
    /// Scan the commits of this CI job's push, pull request or merge request, worked out
    /// from the variables of GitHub Actions or GitLab CI (docs/ci.md).
    #[arg(long, conflicts_with_all = ["staged", "history", "pre_push", "pre_receive", "targets"])]
    pub ci: bool,
    /// With --history: list every commit that holds a token, not only the first.
    #[arg(long)]
    pub all_occurrences: bool,
    /// Scan files that .gitignore would leave out.
    #[arg(long)]
    pub no_ignore: bool,
    /// Repository to scan (default: the one of the current folder, as git finds it).
    #[arg(long, short = 'C', value_name = "DIR")]
    pub repo: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// `tokenguard mask`.
#[derive(Debug, Args)]
pub struct MaskArgs {
    /// File to read (default: standard input).
    pub file: Option<PathBuf>,
}

/// `tokenguard rules`.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Output format (human or json).
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
}

/// `tokenguard baseline`.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Where to write the baseline (default: .tokenguard-baseline.json at the work tree root).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Repository (default: the one of the current folder).
    #[arg(long, short = 'C', value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Which hook to install.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HookKind {
    /// Before each commit: `tokenguard scan --staged`.
    PreCommit,
    /// Before `git merge` commits a merge without conflicts: `tokenguard scan --staged`.
    PreMergeCommit,
    /// Before each push: `tokenguard scan --pre-push`.
    PrePush,
    /// On a server, before refs are updated: `tokenguard scan --pre-receive`.
    PreReceive,
}

/// `tokenguard install` / `uninstall`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Which hook.
    #[arg(long, value_enum, default_value = "pre-commit")]
    pub hook: HookKind,
    /// A hook that is not tokenguard's is always kept as HOOK.local and chained; when HOOK.local
    /// is taken too, move it to HOOK.local.bak (kept, no longer run) instead of refusing.
    #[arg(long)]
    pub force: bool,
    /// Repository (default: the one of the current folder).
    #[arg(long, short = 'C', value_name = "DIR")]
    pub repo: Option<PathBuf>,
}
