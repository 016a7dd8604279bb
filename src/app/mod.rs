//! What each command does: one file per command wires configuration -> source -> pipeline ->
//! sink. The library's own option types live here (the command line, in `cli.rs`, converts
//! to them); the binary maps the outcome (or the error) to an exit code; nothing here exits.

pub mod baseline;
pub mod hooks;
pub mod mask;
pub mod revoke;
pub mod rules;
pub mod scan;

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::allowlist::Allowlist;
use crate::config::ConfigOptions;
use crate::matcher::Matcher;
use crate::output::{Masker, MaskingWriter};
use crate::pipeline::Pipeline;
use crate::report::{self, Format, Mode, RuleInfo};
use crate::rules::Rule;
use crate::sink::{Counted, Sink};
use crate::{Error, ExitStatus, Result};

pub use mask::{mask_stream, mask_windows, MaskError};

/// A command and its options.
#[derive(Debug, Clone)]
pub enum Command {
    /// `tokenguard scan`.
    Scan(scan::ScanOptions),
    /// `tokenguard mask`.
    Mask(mask::MaskOptions),
    /// `tokenguard rules`.
    Rules(rules::RulesOptions),
    /// `tokenguard baseline`.
    Baseline(baseline::BaselineOptions),
    /// `tokenguard install`.
    Install(hooks::HookOptions),
    /// `tokenguard uninstall`.
    Uninstall(hooks::HookOptions),
    /// Print text made by the command line (completions, a manual page).
    Print(Vec<u8>),
    /// Write files made by the command line into a folder (manual pages).
    WriteFiles {
        /// The folder.
        dir: PathBuf,
        /// Each file's name and content.
        files: Vec<(String, Vec<u8>)>,
    },
}

/// Runs a command.
pub fn run(command: Command, io: &mut Io) -> Result<ExitStatus> {
    match command {
        Command::Scan(o) => scan::run(&o, io),
        Command::Mask(o) => mask::run(&o, io),
        Command::Rules(o) => rules::run(&o, io),
        Command::Baseline(o) => baseline::run(&o, io),
        Command::Install(o) => hooks::install(&o, io),
        Command::Uninstall(o) => hooks::uninstall(&o, io),
        Command::Print(text) => {
            match io.out.write_all(&text).and_then(|()| io.out.flush()) {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                    return Err(Error::Write { path: None, source: e })
                }
                _ => {}
            }
            Ok(ExitStatus::Clean)
        }
        Command::WriteFiles { dir, files } => {
            for (name, text) in files {
                let path = dir.join(name);
                std::fs::write(&path, text)
                    .map_err(|source| Error::Write { path: Some(path), source })?;
            }
            Ok(ExitStatus::Clean)
        }
    }
}

/// Where a command writes: standard output and standard error, each behind the masking
/// writer (see [`crate::output`]), and the masker they share.
pub struct Io {
    /// Every token kind that output must not show.
    pub masker: Arc<Masker>,
    /// Standard output (reports, listings).
    pub out: MaskingWriter<Box<dyn Write + Send>>,
    /// Standard error (messages, errors).
    pub err: MaskingWriter<Box<dyn Write + Send>>,
    /// Whether standard output is a terminal (colours, `--color auto`).
    pub out_is_terminal: bool,
    /// Whether standard error is a terminal (progress bars).
    pub err_is_terminal: bool,
}

impl Io {
    /// The process's standard output (buffered) and standard error.
    pub fn std() -> Io {
        let masker = Masker::new();
        let stdout: Box<dyn Write + Send> =
            Box::new(io::BufWriter::with_capacity(64 << 10, io::stdout()));
        let stderr: Box<dyn Write + Send> = Box::new(io::stderr());
        Io {
            out: MaskingWriter::new(stdout, Arc::clone(&masker)),
            err: MaskingWriter::new(stderr, Arc::clone(&masker)),
            masker,
            out_is_terminal: io::stdout().is_terminal(),
            err_is_terminal: io::stderr().is_terminal(),
        }
    }

    /// Writes a message line to standard error (a closed stream is not an error).
    pub fn note(&mut self, line: &str) {
        let line = crate::sanitize::for_terminal(line);
        let _ = writeln!(self.err, "{line}").and_then(|()| self.err.flush());
    }
}

/// Writes `text` and flushes; a closed pipe (`tokenguard ... | head`) is not an error.
pub(crate) fn write_out(out: &mut dyn Write, text: &str) -> Result<()> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Error::Write { path: None, source: e })
        }
        _ => Ok(()),
    }
}

/// Prints a short apology instead of the panic message, which might quote scanned data.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let place =
            info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!(
            "tokenguard: internal error{place}. Sorry: this is a bug. Nothing was changed.\n  \
             Please report it with the command you ran (not the scanned content)."
        );
    }));
}

/// Asks glibc's allocator to keep freed memory for reuse: a scan that finds many tokens
/// allocates and frees render buffers and finding lists of a few hundred KiB over and over,
/// which glibc would otherwise map and unmap each time (each page zeroed again by the kernel:
/// a third of the system time on token-dense input).
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes thresholds; called first thing in main, before any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

/// When to colour the human report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Colours: `--color always|never`, else only on a terminal and without `NO_COLOR`.
pub fn use_color(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// How a scan reports.
#[derive(Debug, Clone)]
pub struct OutputOptions {
    /// Output format.
    pub format: Format,
    /// Write the report to this file instead of standard output.
    pub output: Option<PathBuf>,
    /// When to use colours in the human report.
    pub color: ColorChoice,
    /// List allowed findings with the reason, and say so when nothing was found.
    pub verbose: bool,
    /// No progress bar, no note of what was scanned.
    pub quiet: bool,
}

impl Default for OutputOptions {
    fn default() -> Self {
        OutputOptions {
            format: Format::Human,
            output: None,
            color: ColorChoice::Auto,
            verbose: false,
            quiet: false,
        }
    }
}

/// A scan's configuration, read and validated, before any rule is compiled: the built-in
/// rules plus the configuration's own, what is disabled, and the allowlist with the baseline.
pub struct Loaded {
    /// The configuration's own rules (the built-in ones come before them).
    custom: Vec<Rule>,
    disable: Vec<String>,
    allowlist: Allowlist,
    verify: crate::verify::config::VerifyConfig,
}

impl Loaded {
    /// Reads the configuration for a scan of the work tree at `root` (found from the current
    /// folder when `None`; outside a repository, the current folder): the user's file, then
    /// `--config`, `TOKENGUARD_CONFIG` or `.tokenguard.toml`, and the baseline. Custom rules
    /// join the masker at once, so that output masks their tokens too.
    pub fn read(options: &ConfigOptions, root: Option<&Path>, masker: &Masker) -> Result<Loaded> {
        let root = match root {
            Some(r) => r.to_path_buf(),
            None => crate::config::work_tree_root(None),
        };
        let cfg = crate::config::Config::load(options, &root)?;
        masker.add_rules(&cfg.rules);
        let mut allowlist = cfg.allowlist;
        let baseline = match (&options.baseline, options.no_baseline) {
            (_, true) => None,
            (Some(path), false) => Some((path.clone(), path.to_string_lossy().into_owned())),
            (None, false) => {
                let path = root.join(crate::baseline::FILE_NAME);
                // Anything there is read: a FIFO or a folder is an error, not passed over.
                let there = path.symlink_metadata().is_ok();
                there.then(|| (path, crate::baseline::FILE_NAME.to_string()))
            }
        };
        if let Some((path, shown)) = baseline {
            let b = crate::baseline::Baseline::load(&path)?;
            allowlist.set_baseline(&shown, b.fingerprints());
        }
        Ok(Loaded { custom: cfg.rules, disable: cfg.disable, allowlist, verify: cfg.verify })
    }

    /// The verification stage of a scan, when `request` asks for it (`--verify`): started at
    /// once, so that checks run while the scan goes on. `hook` is a commit hook's scan
    /// (staged changes, a commit message), where verification needs the user's own
    /// configuration to say `pre_commit = true`.
    pub fn checks(
        &self,
        request: &VerifyRequest,
        hook: bool,
    ) -> Result<Option<Arc<crate::pipeline::verify::Checks>>> {
        if !request.enabled {
            return Ok(None);
        }
        if hook && !self.verify.pre_commit {
            return Err(Error::Invalid(
                "--verify in a commit hook's scan needs `pre_commit = true` under [verify] in your \
                 own configuration (~/.config/tokenguard/config.toml; docs/verify.md)"
                    .into(),
            ));
        }
        let mut environments = Vec::new();
        for e in &request.environments {
            let env = crate::verify::Environment::parse(e)
                .map_err(|why| Error::Invalid(format!("--environment {e}: {why}")))?;
            environments.push(env);
        }
        let options = self.verify.options(&environments);
        let concurrency = options.concurrency;
        let specs = crate::rules::builtin_ref().iter().chain(&self.custom).map(check_of).collect();
        let verifier = crate::verify::Verifier::new(options);
        Ok(Some(Arc::new(crate::pipeline::verify::Checks::start(verifier, specs, concurrency))))
    }

    /// The allowlist, to adjust before the pipeline is built (a server ignores the inline
    /// marker).
    pub fn allowlist_mut(&mut self) -> &mut Allowlist {
        &mut self.allowlist
    }

    /// Whether the pipeline takes the built-in matcher: the built-in rules alone, none
    /// disabled.
    fn uses_builtin(&self) -> bool {
        self.custom.is_empty() && self.disable.is_empty()
    }

    /// Starts compiling the built-in matcher on another thread when the pipeline will take
    /// it, so that the scan reads its input meanwhile (the hook: the staged changes); the
    /// pipeline waits for it. Nothing to do for other configurations.
    pub fn prepare(&self) {
        if self.uses_builtin() {
            std::thread::spawn(|| Matcher::builtin_ref().rules().len());
        }
    }

    /// Compiles the rules into the pipeline.
    pub fn pipeline(self) -> Pipeline {
        // The built-in rules alone, none disabled: the matcher compiled once per process
        // (the masking writer has it already; each build costs milliseconds per hook run).
        let matcher = if self.uses_builtin() {
            Matcher::builtin_shared()
        } else {
            let mut rules = crate::rules::builtin();
            rules.extend(self.custom);
            Arc::new(Matcher::new(rules, &self.disable))
        };
        Pipeline::new(matcher, self.allowlist)
    }
}

/// Turns a report's write error into the command's error (a closed pipe is not one).
pub(crate) fn write_result(result: io::Result<()>, path: Option<&Path>) -> Result<()> {
    match result {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(Error::Write { path: path.map(Path::to_path_buf), source: e })
        }
        _ => Ok(()),
    }
}

/// The live check a rule carries (its `[rules.verify]` table), if any (see docs/verify.md).
/// A table that does not parse was refused when the rules were loaded.
fn check_of(rule: &Rule) -> Option<Arc<crate::verify::CheckSpec>> {
    let table = rule.verify.as_ref()?;
    crate::verify::CheckSpec::from_table(table).ok().map(Arc::new)
}

/// What a scan asks of the verification stage (`--verify` and the flags that go with it).
#[derive(Debug, Clone, Default)]
pub struct VerifyRequest {
    /// Check each distinct token found, live (`--verify`).
    pub enabled: bool,
    /// Environments to ask (`--environment`), before the configured ones.
    pub environments: Vec<String>,
    /// Report only the tokens confirmed active (`--only-active`).
    pub only_active: bool,
    /// Switch the tokens confirmed active off (`--disable`, `--delete`).
    pub revoke: Option<crate::verify::revoke::Action>,
    /// Do not ask before switching tokens off (`--yes`).
    pub yes: bool,
}

/// Where a report goes: standard output, or the `--output` file behind its own masking
/// writer.
pub(crate) enum Destination {
    Stdout,
    File(MaskingWriter<io::BufWriter<std::fs::File>>),
}

impl Destination {
    /// Opens the destination of `out`.
    pub fn open(out: &OutputOptions, masker: &Arc<Masker>) -> Result<Destination> {
        match &out.output {
            None => Ok(Destination::Stdout),
            Some(path) => {
                let f = std::fs::File::create(path)
                    .map_err(|source| Error::Write { path: Some(path.clone()), source })?;
                Ok(Destination::File(MaskingWriter::new(io::BufWriter::new(f), Arc::clone(masker))))
            }
        }
    }

    /// The writer (`stdout`, or the file), and whether it is a terminal.
    pub fn writer<'a>(
        &'a mut self,
        stdout: &'a mut MaskingWriter<Box<dyn Write + Send>>,
        stdout_is_terminal: bool,
    ) -> (&'a mut (dyn Write + Send), bool) {
        match self {
            Destination::Stdout => (stdout, stdout_is_terminal),
            Destination::File(f) => (f, false),
        }
    }
}

/// Runs a scan (`body`) that hands its findings to the report of `mode` on `writer`. The report
/// renders, masks and writes on its own thread while the scan goes on. The report is finished
/// when `body` succeeds (a failed scan prints no summary); returns `body`'s result and whether
/// anything blocks. `path` is the `--output` file, for messages.
#[allow(clippy::too_many_arguments)]
pub(crate) fn reported<R>(
    writer: &mut (dyn Write + Send),
    terminal: bool,
    out: &OutputOptions,
    mode: Mode,
    rules: Vec<RuleInfo>,
    body: impl FnOnce(&mut dyn Sink) -> Result<R>,
) -> Result<(R, ExitStatus)> {
    let opts = report::Options {
        format: out.format,
        mode,
        verbose: out.verbose,
        color: use_color(out.color, terminal),
        rules,
    };
    // `colored` reads NO_COLOR itself; the decision above (where --color always wins) rules.
    colored::control::set_override(opts.color);
    let path = out.output.as_deref();
    std::thread::scope(|scope| {
        let (feed, thread) = crate::sink::threaded(scope, report::reporter(writer, &opts));
        let mut sink = Counted::new(feed);
        let result = body(&mut sink);
        let finished = match &result {
            Ok(_) => sink.finish(),
            Err(_) => Ok(()),
        };
        // Dropping the feed ends the thread (without a summary, after a failure).
        let counted = sink.findings;
        drop(sink);
        let written = thread.join().expect("the report thread does not panic");
        let value = result?;
        write_result(written.and(finished), path)?;
        Ok((value, ExitStatus::from_findings(counted)))
    })
}

/// The rules of a pipeline as reports describe them.
pub(crate) fn rule_infos(pipeline: &Pipeline) -> Vec<RuleInfo> {
    pipeline.matcher.rules().iter().map(RuleInfo::from).collect()
}
