//! What each command does, from parsed arguments to an [`Outcome`]. The binary maps the
//! outcome (or the error) to an exit code; this module never exits.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use crate::cli::{
    BaselineArgs, Cli, ColorChoice, Command, ConfigArgs, InstallArgs, MaskArgs, OutputArgs,
    RulesArgs, ScanArgs,
};
use crate::finding::Findings;
use crate::matcher::Matcher;
use crate::report::{self, Format, Mode};
use crate::scan::{Origin, Scanner};
use crate::source::files::{self, WalkOptions};
use crate::stream::Windows;
use crate::{Error, Result};

/// How a command ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing found (exit 0).
    Clean,
    /// Findings that block (exit 1).
    Findings,
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Scan(args) => scan(args),
        Command::Mask(args) => mask(args),
        Command::Rules(args) => rules(args),
        Command::Baseline(args) => baseline(args),
        Command::Install(args) => install(args),
        Command::Uninstall(args) => uninstall(args),
        Command::Completions(args) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut text = Vec::new();
            clap_complete::generate(args.shell, &mut cmd, "tokenguard", &mut text);
            print_bytes(&text)
        }
        Command::Manpage(args) => manpage(args),
    }
}

/// Writes `text` to standard output (a closed pipe is not an error).
fn print_bytes(text: &[u8]) -> Result<Outcome> {
    let mut out = io::stdout().lock();
    match out.write_all(text).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Error::Write(e)),
        _ => Ok(Outcome::Clean),
    }
}

/// `tokenguard manpage`: tokenguard(1) on standard output, or with `--dir` that page and one
/// per command (`tokenguard-scan(1)`, as git's pages are) written into the folder.
fn manpage(args: crate::cli::ManpageArgs) -> Result<Outcome> {
    // (No `tokenguard-help` page: the help command has none.)
    let cmd = <Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
    let render = |c: clap::Command| -> Vec<u8> {
        let mut text = Vec::new();
        clap_mangen::Man::new(c).render(&mut text).expect("writing to memory");
        text
    };
    let Some(dir) = args.dir else { return print_bytes(&render(cmd)) };
    let write = |name: String, text: Vec<u8>| -> Result<()> {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| Error::Read { path, source })
    };
    for sub in cmd.get_subcommands() {
        let name = format!("tokenguard-{}", sub.get_name());
        let page = sub.clone().name(name.clone()).version(env!("CARGO_PKG_VERSION"));
        write(format!("{name}.1"), render(page))?;
    }
    write("tokenguard.1".into(), render(cmd))?;
    Ok(Outcome::Clean)
}

fn install(args: InstallArgs) -> Result<Outcome> {
    let dir = args.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let binary = std::env::current_exe()
        .map_err(|source| Error::Read { path: "the tokenguard binary".into(), source })?;
    let actions = crate::install::install(&dir, args.hook, &binary, args.force)?;
    print_actions(&actions)
}

fn uninstall(args: InstallArgs) -> Result<Outcome> {
    let dir = args.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    print_actions(&crate::install::uninstall(&dir, args.hook)?)
}

fn print_actions(actions: &[crate::install::Action]) -> Result<Outcome> {
    let mut out = io::stdout().lock();
    for a in actions {
        let line = format!("tokenguard: {a}");
        let line = report::sanitize::for_terminal(&line);
        match writeln!(out, "{line}") {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return Err(Error::Write(e)),
            _ => {}
        }
    }
    Ok(Outcome::Clean)
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

/// The scanner for a scan: built-in rules plus the configuration (user file, then `--config`,
/// `TOKENGUARD_CONFIG` or `.tokenguard.toml`) and the baseline. `root` is the work tree root
/// when the caller knows it; else it is found from the current folder (outside a repository,
/// the current folder). The one place that builds a [`Scanner`].
pub fn scanner_for(config: &ConfigArgs, root: Option<&Path>) -> Result<Scanner> {
    let root = match root {
        Some(r) => r.to_path_buf(),
        None => crate::config::work_tree_root(None),
    };
    let cfg = crate::config::Config::load(config, &root)?;
    let mut rules = crate::rules::builtin();
    rules.extend(cfg.rules);
    let mut allowlist = cfg.allowlist;
    allowlist.set_root(&root);
    let baseline = match (&config.baseline, config.no_baseline) {
        (_, true) => None,
        (Some(path), false) => Some((path.clone(), path.to_string_lossy().into_owned())),
        (None, false) => {
            let path = root.join(crate::baseline::FILE_NAME);
            path.is_file().then(|| (path, crate::baseline::FILE_NAME.to_string()))
        }
    };
    if let Some((path, shown)) = baseline {
        let b = crate::baseline::Baseline::load(&path)?;
        allowlist.set_baseline(&shown, b.fingerprints());
    }
    Ok(Scanner::new(Matcher::new(rules, &cfg.disable), allowlist))
}

/// `tokenguard baseline`: scans the tracked files and writes the baseline.
fn baseline(args: BaselineArgs) -> Result<Outcome> {
    let dir = args.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let repo = git2::Repository::discover(&dir).map_err(|_| Error::NotARepository(dir.clone()))?;
    let root = repo
        .workdir()
        .ok_or_else(|| Error::Invalid("a bare repository has no files to baseline".into()))?
        .to_path_buf();
    let config = ConfigArgs { config: args.config.clone(), baseline: None, no_baseline: true };
    let scanner = scanner_for(&config, Some(&root))?;
    let tracked = crate::baseline::scan_tracked(&repo, &root, &scanner)?;
    let b = crate::baseline::Baseline::from_findings(&tracked.findings);
    let out = args.output.unwrap_or_else(|| root.join(crate::baseline::FILE_NAME));
    b.write(&out)?;
    for e in &tracked.errors {
        eprintln!("tokenguard: {}", report::sanitize::for_terminal(e));
    }
    let line = format!(
        "tokenguard: wrote {} with {} finding(s) from {} tracked file(s) ({} allowed by the \
         configuration)",
        out.display(),
        b.entries.len(),
        tracked.files,
        tracked.findings.allowed.len()
    );
    match writeln!(io::stdout().lock(), "{}", report::sanitize::for_terminal(&line)) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return Err(Error::Write(e)),
        _ => {}
    }
    if tracked.errors.is_empty() {
        Ok(Outcome::Clean)
    } else {
        Err(Error::Incomplete(tracked.errors.len()))
    }
}

fn scan(args: ScanArgs) -> Result<Outcome> {
    if args.staged {
        return scan_staged(&args);
    }
    if args.history {
        return scan_history(&args);
    }
    if args.pre_push || args.pre_receive {
        return scan_push(&args);
    }
    if args.ci {
        return scan_ci(&args);
    }
    if args.targets.is_empty() {
        return Err(Error::Invalid(
            "nothing to scan: give files or folders, `-` for standard input, --staged or --history"
                .into(),
        ));
    }
    let scanner = scanner_for(&args.config, None)?;
    let mut findings = Findings::default();
    let mut errors = Vec::new();
    let paths: Vec<PathBuf> =
        args.targets.iter().filter(|t| *t != "-").map(PathBuf::from).collect();
    if args.targets.iter().any(|t| t == "-") {
        let origin = Origin::given("-", None);
        scanner
            .scan_reader(io::stdin().lock(), &origin, &mut findings)
            .map_err(|source| Error::Read { path: "standard input".into(), source })?;
    }
    if !paths.is_empty() {
        let result =
            files::scan_paths(&scanner, &paths, &WalkOptions { no_ignore: args.no_ignore })?;
        findings.extend(result.findings);
        errors = result.errors;
    }
    for e in &errors {
        eprintln!("tokenguard: {}", report::sanitize::for_terminal(e));
    }
    let outcome = emit(&findings, &args.output, Mode::Files)?;
    // The process ends next: freeing a million findings one by one would only add time.
    std::mem::forget(findings);
    if errors.is_empty() {
        Ok(outcome)
    } else {
        Err(Error::Incomplete(errors.len()))
    }
}

/// `scan --staged [FILE...]`: what the next commit adds (the pre-commit hook's scan).
fn scan_staged(args: &ScanArgs) -> Result<Outcome> {
    let repo = crate::source::git::repo::open(args.repo.as_deref())?;
    let index = crate::source::git::repo::index_path(&repo, args.repo.as_deref())?;
    let root = crate::source::git::repo::work_tree(&repo)?;
    let files: Vec<PathBuf> = args.targets.iter().map(PathBuf::from).collect();
    let findings = crate::source::staged::scan(&repo, &index, &files, || {
        scanner_for(&args.config, Some(root))
    })?;
    emit(&findings, &args.output, Mode::Staged)
}

/// `scan --history [RANGE...]`: the tokens each commit introduced, in every commit reachable
/// from any ref, or in the ranges given (git's syntax).
fn scan_history(args: &ScanArgs) -> Result<Outcome> {
    use crate::source::history;
    let repo = crate::source::git::repo::open(args.repo.as_deref())?;
    if repo.is_shallow() {
        eprintln!(
            "tokenguard: note: this is a shallow clone; commits before its oldest fetched \
             commits are not scanned (`git fetch --unshallow` to scan them)"
        );
    }
    let revs = if args.targets.is_empty() {
        history::all_refs(&repo)?
    } else {
        let specs = args
            .targets
            .iter()
            .map(|t| {
                t.to_str().map(str::to_string).ok_or_else(|| {
                    Error::Invalid(format!(
                        "revision {} is not valid UTF-8",
                        t.to_string_lossy().escape_debug()
                    ))
                })
            })
            .collect::<Result<Vec<String>>>()?;
        history::parse_revisions(&repo, &specs)?
    };
    scan_revisions(args, &repo, &revs)
}

/// `scan --ci`: the commits of this CI job's push, pull request or merge request, from the CI
/// system's variables (and GitHub's event file), scanned as `scan --history` scans them.
fn scan_ci(args: &ScanArgs) -> Result<Outcome> {
    let repo = crate::source::git::repo::open(args.repo.as_deref())?;
    let var = |k: &str| std::env::var(k).ok();
    let event = match var("GITHUB_EVENT_PATH").filter(|p| !p.is_empty()) {
        Some(path) if var("GITHUB_ACTIONS").as_deref() == Some("true") => Some(
            std::fs::read_to_string(&path)
                .map_err(|source| Error::Read { path: path.into(), source })?,
        ),
        _ => None,
    };
    let ci = crate::source::ci::revisions(&repo, var, event.as_deref())?;
    if !args.output.quiet {
        let line = format!("tokenguard: {}: {}", ci.system.name(), ci.what);
        eprintln!("{}", report::sanitize::for_terminal(&line));
        for note in &ci.notes {
            eprintln!("tokenguard: note: {}", report::sanitize::for_terminal(note));
        }
    }
    scan_revisions(args, &repo, &ci.revisions)
}

/// Scans the commits of `revs` for the tokens each introduced and reports them (the history
/// report).
fn scan_revisions(
    args: &ScanArgs,
    repo: &git2::Repository,
    revs: &crate::source::history::Revisions,
) -> Result<Outcome> {
    use crate::source::history;
    let scanner = scanner_for(&args.config, repo.workdir())?;
    let progress = (!args.output.quiet && io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::with_draw_target(
            None,
            indicatif::ProgressDrawTarget::stderr_with_hz(10),
        );
        bar.set_message("0 findings");
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} scanning history {bar:30} {pos}/{len} commits, {per_sec}, {msg} [{elapsed}]",
            )
            .expect("valid template"),
        );
        bar
    });
    let opts = history::HistoryOptions { all_occurrences: args.all_occurrences, progress };
    let findings = history::scan_commits(repo, &revs.include, &revs.exclude, &scanner, &opts)?;
    emit(&findings, &args.output, Mode::History)
}

/// `scan --pre-push` / `scan --pre-receive`: the commits a push sends (or a server receives)
/// that the other side does not have, read from the hook's standard input. Under the
/// pre-commit framework (empty standard input), pre-push uses the `PRE_COMMIT_*` variables.
fn scan_push(args: &ScanArgs) -> Result<Outcome> {
    use crate::source::{history, push};
    let hook = if args.pre_push { "pre-push" } else { "pre-receive" };
    let max_targets = if args.pre_push { 2 } else { 0 };
    if args.targets.len() > max_targets {
        return Err(Error::Invalid(format!(
            "--{hook} takes {} (git passes them to the hook); the pushed refs come on standard input",
            if args.pre_push { "at most the remote's name and URL" } else { "no arguments" }
        )));
    }
    // In a pre-receive hook the pushed objects sit in a quarantine folder that git names in
    // the environment; opening from the environment sees them.
    let repo = crate::source::git::repo::open(args.repo.as_deref())?;
    let stdin = io::stdin();
    let mut input = String::new();
    if !stdin.is_terminal() {
        stdin
            .lock()
            .read_to_string(&mut input)
            .map_err(|source| Error::Read { path: "standard input".into(), source })?;
    }
    let revs = if args.pre_push {
        let lines = push::parse_pre_push(&input)?;
        if lines.is_empty() {
            match push::framework_revisions(&repo, |k| std::env::var(k).ok())? {
                Some(revs) => revs,
                None if stdin.is_terminal() => {
                    return Err(Error::Invalid(
                        "--pre-push reads git's pre-push lines from standard input \
                         (`<local ref> <local sha> <remote ref> <remote sha>`); install it as a \
                         hook with `tokenguard install --hook pre-push`"
                            .into(),
                    ))
                }
                None => history::Revisions::default(),
            }
        } else {
            push::pre_push_revisions(&repo, &lines)?
        }
    } else {
        push::pre_receive_revisions(&repo, &push::parse_pre_receive(&input)?)?
    };
    let scanner = scanner_for(&args.config, repo.workdir())?;
    let opts = history::HistoryOptions { all_occurrences: args.all_occurrences, progress: None };
    // Under a pre-receive quarantine, scan through a view that sees the pushed objects.
    let view = if args.pre_receive {
        push::QuarantineView::from_env(|k| std::env::var(k).ok())?
    } else {
        None
    };
    let scan_repo = view.as_ref().map_or(&repo, |v| &v.repo);
    let findings = history::scan_commits(scan_repo, &revs.include, &revs.exclude, &scanner, &opts)?;
    if revs.include.is_empty() && args.output.verbose {
        eprintln!("tokenguard: {hook}: no new commits to scan");
    }
    emit(&findings, &args.output, Mode::Push)
}

/// Writes the report where the options say, and tells whether anything blocks.
pub fn emit(findings: &Findings, out: &OutputArgs, mode: Mode) -> Result<Outcome> {
    let to_terminal = out.output.is_none() && io::stdout().is_terminal();
    let opts = report::Options {
        format: out.format,
        mode,
        verbose: out.verbose,
        color: use_color(out.color, to_terminal),
    };
    // `colored` reads NO_COLOR itself; the decision above (where --color always wins) rules.
    colored::control::set_override(opts.color);
    let result = match &out.output {
        Some(path) => {
            let f =
                File::create(path).map_err(|source| Error::Read { path: path.clone(), source })?;
            let mut f = io::BufWriter::new(f);
            report::write(&mut f, findings, &opts).and_then(|()| f.flush())
        }
        None => {
            // Buffered: stdout is line-buffered, and a report can run to many lines.
            let mut stdout = io::BufWriter::with_capacity(64 << 10, io::stdout().lock());
            report::write(&mut stdout, findings, &opts).and_then(|()| stdout.flush())
        }
    };
    match result {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return Err(Error::Write(e)),
        _ => {}
    }
    Ok(if findings.findings.is_empty() { Outcome::Clean } else { Outcome::Findings })
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

/// Colours: `--color always|never`, else only on a terminal and without `NO_COLOR`.
pub fn use_color(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

fn mask(args: MaskArgs) -> Result<Outcome> {
    let matcher = scanner_for(&ConfigArgs::default(), None)?.matcher;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let result = match &args.file {
        Some(path) => {
            let f =
                File::open(path).map_err(|source| Error::Read { path: path.clone(), source })?;
            mask_stream(&matcher, f, &mut out)
        }
        // A pipe (`tail -f app.log | tokenguard mask`) is answered line by line.
        None if stdin_is_file() => mask_stream(&matcher, io::stdin().lock(), &mut out),
        None => mask_windows(&matcher, Windows::interactive(io::stdin().lock()), &mut out),
    };
    match result {
        Ok(()) => Ok(Outcome::Clean),
        Err(MaskError::Read(source)) => {
            Err(Error::Read { path: args.file.unwrap_or_else(|| "standard input".into()), source })
        }
        Err(MaskError::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(Outcome::Clean),
        Err(MaskError::Write(e)) => Err(Error::Write(e)),
    }
}

/// Why masking a stream stopped.
#[derive(Debug)]
pub enum MaskError {
    /// Reading the input failed.
    Read(io::Error),
    /// Writing the output failed.
    Write(io::Error),
}

/// Whether standard input is a regular file (`tokenguard mask < app.log`).
fn stdin_is_file() -> bool {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let Ok(fd) = io::stdin().as_fd().try_clone_to_owned() else { return false };
        File::from(fd).metadata().is_ok_and(|m| m.is_file())
    }
    #[cfg(not(unix))]
    false
}

/// Copies `input` (read to its end: a file, memory) to `out` with every secret part masked,
/// window by window.
pub fn mask_stream(
    matcher: &Matcher,
    input: impl Read,
    out: &mut dyn Write,
) -> Result<(), MaskError> {
    mask_windows(matcher, Windows::new(input), out)
}

/// Copies the windows of an input to `out` with every secret part masked, flushing after
/// each so that a follower of a log sees each line at once.
pub fn mask_windows<R: Read>(
    matcher: &Matcher,
    mut windows: Windows<R>,
    out: &mut dyn Write,
) -> Result<(), MaskError> {
    // Secret ranges (absolute) found earlier that reach past what was written so far.
    let mut pending: Vec<std::ops::Range<u64>> = Vec::new();
    let mut buf = Vec::new();
    while let Some(w) = windows.next().map_err(MaskError::Read)? {
        let base = w.base;
        let mut secrets: Vec<std::ops::Range<u64>> = matcher
            .find(w.bytes)
            .into_iter()
            .map(|m| base + m.secret.start as u64..base + m.secret.end as u64)
            .collect();
        secrets.append(&mut pending);
        let (lo, hi) = (base + w.report.start as u64, base + w.report.end as u64);
        let local: Vec<std::ops::Range<usize>> = secrets
            .iter()
            .filter(|r| r.start < hi && r.end > lo)
            .map(|r| (r.start.max(lo) - lo) as usize..(r.end.min(hi) - lo) as usize)
            .collect();
        pending = secrets.into_iter().filter(|r| r.end > hi).collect();
        buf.clear();
        crate::mask::mask_into(&w.bytes[w.report.clone()], &local, &mut buf);
        out.write_all(&buf).and_then(|()| out.flush()).map_err(MaskError::Write)?;
    }
    Ok(())
}

fn rules(args: RulesArgs) -> Result<Outcome> {
    let matcher = Matcher::builtin();
    let mut out = io::stdout().lock();
    let result = match args.format {
        Format::Json | Format::Sarif => {
            let rules: Vec<_> = matcher
                .rules()
                .iter()
                .map(|r| serde_json::json!({"id": r.id, "description": r.description}))
                .collect();
            let doc = serde_json::json!({
                "version": report::json::VERSION,
                "rules": rules,
                "known_examples": crate::rules::KNOWN_EXAMPLES,
                "known_example_parts": crate::rules::KNOWN_EXAMPLE_PARTS,
            });
            serde_json::to_writer_pretty(&mut out, &doc)
                .map_err(io::Error::from)
                .and_then(|()| writeln!(out))
        }
        Format::Human | Format::Html => (|| {
            writeln!(out, "Built-in rules:")?;
            for r in matcher.rules() {
                writeln!(out, "  {:<32} {}", r.id, r.description)?;
            }
            writeln!(
                out,
                "\nKnown public examples from Dynatrace's documentation (never reported):"
            )?;
            for k in crate::rules::KNOWN_EXAMPLES {
                writeln!(out, "  {k}")?;
            }
            writeln!(
                out,
                "\nA token holding one of their parts is an edited example (never reported):"
            )?;
            for p in crate::rules::KNOWN_EXAMPLE_PARTS {
                writeln!(out, "  {p}")?;
            }
            Ok(())
        })(),
    };
    match result {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Error::Write(e)),
        _ => Ok(Outcome::Clean),
    }
}
