//! Command-line types (clap derive), and their conversion to the library's own option types
//! ([`crate::app::Command`]). The only module besides `main.rs` that knows clap.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::app::{self, scan::Target};
use crate::config::ConfigOptions;
use crate::install::HookKind as Hook;
use crate::report::Format as ReportFormat;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Readable report.
    Human,
    /// JSON object, see docs/output.md.
    Json,
    /// SARIF 2.1.0 (for code-scanning upload).
    Sarif,
    /// One self-contained HTML page: summary, timeline, searchable table (docs/output.md).
    Html,
}

impl From<Format> for ReportFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::Human => ReportFormat::Human,
            Format::Json => ReportFormat::Json,
            Format::Sarif => ReportFormat::Sarif,
            Format::Html => ReportFormat::Html,
        }
    }
}

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
    /// List the built-in rules by provider and the known documentation examples; `rules
    /// check [FILE]` proves rules against their examples.
    Rules(RulesArgs),
    /// Write a baseline of the findings already in the repository's files.
    Baseline(BaselineArgs),
    /// Install the git hooks into the repository (every client-side hook that can block).
    Install(InstallArgs),
    /// Remove the git hooks that `install` wrote (restoring chained hooks).
    Uninstall(UninstallArgs),
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
    let mut cmd = <Cli as CommandFactory>::command().version(version);
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
    /// Scan a commit message file as git will store it (what the commit-msg hook runs):
    /// comment lines and a `commit -v` diff are left out when an editor was used.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["staged", "history", "pre_push", "pre_receive", "targets"]
    )]
    pub commit_msg: Option<PathBuf>,
    /// Scan the commits of this CI job's push, pull request or merge request, worked out
    /// from the variables of GitHub Actions or GitLab CI (docs/ci.md).
    #[arg(
        long,
        conflicts_with_all = ["staged", "history", "pre_push", "pre_receive", "commit_msg", "targets"]
    )]
    pub ci: bool,
    /// With --history: list every commit that holds a token, not only the first.
    #[arg(long)]
    pub all_occurrences: bool,
    /// Check each distinct token found live: is it active, what can it do, when does it
    /// expire (docs/verify.md). Never by default; never with --pre-receive.
    #[arg(long, conflicts_with = "pre_receive")]
    pub verify: bool,
    /// With --verify: an environment to ask (repeatable), before the configured ones
    /// (https://{id}.live.dynatrace.com, https://{domain}/e/{env-id}, ...).
    #[arg(long, value_name = "URL", requires = "verify")]
    pub environment: Vec<String>,
    /// With --verify: report only the tokens confirmed active (triage).
    #[arg(long, requires = "verify")]
    pub only_active: bool,
    /// With --verify: disable the tokens confirmed active (reversible), with an administrator
    /// token from TOKENGUARD_DYNATRACE_ADMIN_TOKEN; asks first unless --yes.
    #[arg(long, requires = "verify")]
    pub disable: bool,
    /// With --disable: delete the tokens instead of disabling them (not reversible).
    #[arg(long, requires = "disable")]
    pub delete: bool,
    /// With --disable: do not ask for confirmation.
    #[arg(long, requires = "disable")]
    pub yes: bool,
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
    /// What to do with the rules (default: list them).
    #[command(subcommand)]
    pub command: Option<RulesCommand>,
    /// Output format of the list: human, json, or sarif (a SARIF log whose tool describes
    /// every rule).
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
}

/// `tokenguard rules <command>`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Prove rules against their examples, negative examples and known examples (exit 1 on a
    /// failure, 2 on an invalid file).
    Check(RulesCheckArgs),
}

/// `tokenguard rules check`.
#[derive(Debug, Args)]
pub struct RulesCheckArgs {
    /// A TOML file of `[[rules]]` in the schema of .tokenguard.toml (a .tokenguard.toml
    /// itself will do); default: the built-in rules.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
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
    /// For each commit a rebase, cherry-pick or revert makes (they run no pre-commit):
    /// `scan --staged` and `scan --commit-msg`.
    PrepareCommitMsg,
    /// The message of each commit: `tokenguard scan --commit-msg`.
    CommitMsg,
    /// Before `git merge` commits a merge without conflicts: `tokenguard scan --staged`.
    PreMergeCommit,
    /// The message of each patch `git am` applies: `tokenguard scan --commit-msg`.
    ApplypatchMsg,
    /// Each patch `git am` applies, before it is committed: `tokenguard scan --staged`.
    PreApplypatch,
    /// Before each push: `tokenguard scan --pre-push`.
    PrePush,
    /// On a server, before refs are updated: `tokenguard scan --pre-receive` (only on request).
    PreReceive,
}

impl From<HookKind> for Hook {
    fn from(h: HookKind) -> Self {
        match h {
            HookKind::PreCommit => Hook::PreCommit,
            HookKind::PrepareCommitMsg => Hook::PrepareCommitMsg,
            HookKind::CommitMsg => Hook::CommitMsg,
            HookKind::PreMergeCommit => Hook::PreMergeCommit,
            HookKind::ApplypatchMsg => Hook::ApplypatchMsg,
            HookKind::PreApplypatch => Hook::PreApplypatch,
            HookKind::PrePush => Hook::PrePush,
            HookKind::PreReceive => Hook::PreReceive,
        }
    }
}

/// `tokenguard install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Which hook (repeatable). Default: every client-side hook that can block (pre-commit,
    /// prepare-commit-msg, commit-msg, pre-merge-commit, applypatch-msg, pre-applypatch,
    /// pre-push); pre-receive is for servers and only installed when asked for.
    #[arg(long, value_enum, value_name = "HOOK")]
    pub hook: Vec<HookKind>,
    /// A hook that is not tokenguard's is always kept as HOOK.local and chained; when HOOK.local
    /// is taken too, move it to HOOK.local.bak (kept, no longer run) instead of refusing.
    #[arg(long)]
    pub force: bool,
    /// Repository (default: the one of the current folder).
    #[arg(long, short = 'C', value_name = "DIR")]
    pub repo: Option<PathBuf>,
}

/// `tokenguard uninstall`.
#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// Which hook (repeatable). Default: every tokenguard hook in the repository.
    #[arg(long, value_enum, value_name = "HOOK")]
    pub hook: Vec<HookKind>,
    /// Repository (default: the one of the current folder).
    #[arg(long, short = 'C', value_name = "DIR")]
    pub repo: Option<PathBuf>,
}

impl From<ColorChoice> for app::ColorChoice {
    fn from(c: ColorChoice) -> Self {
        match c {
            ColorChoice::Auto => app::ColorChoice::Auto,
            ColorChoice::Always => app::ColorChoice::Always,
            ColorChoice::Never => app::ColorChoice::Never,
        }
    }
}

impl From<OutputArgs> for app::OutputOptions {
    fn from(o: OutputArgs) -> Self {
        app::OutputOptions {
            format: o.format.into(),
            output: o.output,
            color: o.color.into(),
            verbose: o.verbose,
            quiet: o.quiet,
        }
    }
}

impl From<ConfigArgs> for ConfigOptions {
    fn from(c: ConfigArgs) -> Self {
        ConfigOptions { config: c.config, baseline: c.baseline, no_baseline: c.no_baseline }
    }
}

impl From<InstallArgs> for app::hooks::HookOptions {
    fn from(a: InstallArgs) -> Self {
        let hooks = a.hook.into_iter().map(Hook::from).collect();
        app::hooks::HookOptions { hooks, force: a.force, repo: a.repo }
    }
}

impl From<UninstallArgs> for app::hooks::HookOptions {
    fn from(a: UninstallArgs) -> Self {
        let hooks = a.hook.into_iter().map(Hook::from).collect();
        app::hooks::HookOptions { hooks, force: false, repo: a.repo }
    }
}

impl Cli {
    /// The command in the library's own terms.
    pub fn into_command(self) -> app::Command {
        match self.command {
            Command::Scan(a) => {
                let target = if let Some(file) = a.commit_msg {
                    Target::CommitMessage(file)
                } else if a.ci {
                    Target::Ci
                } else if a.staged {
                    Target::Staged(a.targets)
                } else if a.history {
                    Target::History(a.targets)
                } else if a.pre_push {
                    Target::PrePush(a.targets)
                } else if a.pre_receive {
                    Target::PreReceive(a.targets)
                } else {
                    Target::Paths(a.targets)
                };
                app::Command::Scan(app::scan::ScanOptions {
                    target,
                    all_occurrences: a.all_occurrences,
                    no_ignore: a.no_ignore,
                    repo: a.repo,
                    output: a.output.into(),
                    config: a.config.into(),
                    verify: app::VerifyRequest {
                        enabled: a.verify,
                        environments: a.environment,
                        only_active: a.only_active,
                        revoke: a.disable.then_some(match a.delete {
                            true => crate::verify::revoke::Action::Delete,
                            false => crate::verify::revoke::Action::Disable,
                        }),
                        yes: a.yes,
                    },
                })
            }
            Command::Mask(a) => app::Command::Mask(app::mask::MaskOptions { file: a.file }),
            Command::Rules(a) => app::Command::Rules(app::rules::RulesOptions {
                format: a.format.into(),
                check: a
                    .command
                    .map(|RulesCommand::Check(c)| app::rules::RulesCheck { file: c.file }),
            }),
            Command::Baseline(a) => app::Command::Baseline(app::baseline::BaselineOptions {
                output: a.output,
                repo: a.repo,
                config: a.config,
            }),
            Command::Install(a) => app::Command::Install(a.into()),
            Command::Uninstall(a) => app::Command::Uninstall(a.into()),
            Command::Completions(a) => {
                let mut cmd = <Cli as CommandFactory>::command();
                let mut text = Vec::new();
                clap_complete::generate(a.shell, &mut cmd, "tokenguard", &mut text);
                app::Command::Print(text)
            }
            Command::Manpage(a) => manpages(a),
        }
    }
}

/// `tokenguard manpage`: tokenguard(1) on standard output, or with `--dir` that page and one
/// per command (`tokenguard-scan(1)`, as git's pages are) written into the folder.
fn manpages(args: ManpageArgs) -> app::Command {
    // (No `tokenguard-help` page: the help command has none.)
    let cmd = <Cli as CommandFactory>::command().disable_help_subcommand(true);
    let render = |c: clap::Command| -> Vec<u8> {
        let mut text = Vec::new();
        clap_mangen::Man::new(c).render(&mut text).expect("writing to memory");
        text
    };
    let Some(dir) = args.dir else { return app::Command::Print(render(cmd)) };
    let mut files = Vec::new();
    for sub in cmd.get_subcommands() {
        let name = format!("tokenguard-{}", sub.get_name());
        let page = sub.clone().name(name.clone()).version(env!("CARGO_PKG_VERSION"));
        files.push((format!("{name}.1"), render(page)));
    }
    files.push(("tokenguard.1".to_string(), render(cmd)));
    app::Command::WriteFiles { dir, files }
}
