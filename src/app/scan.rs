//! `tokenguard scan`: files, folders and standard input; the staged diff (the pre-commit
//! hook); history; what a push sends or a server receives. Each wires its source to the
//! pipeline and the report.

use std::ffi::OsString;
use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

use super::{reported, rule_infos, Destination, Io, Loaded, OutputOptions, VerifyRequest};
use crate::config::ConfigOptions;
use crate::finding::Finding;
use crate::output::MaskingWriter;
use crate::pipeline::changes::BlobCache;
use crate::pipeline::verify::Checks;
use crate::pipeline::Pipeline;
use crate::report::Mode;
use crate::sink::{ByIntroduction, ByPosition, Sink, WithVerification};
use crate::source::files::{self, Entry, Root, WalkOptions};
use crate::source::git::repo;
use crate::source::{history, push, staged};
use crate::unit::{Content, Origin, Unit};
use crate::{Error, ExitStatus, Result};

/// What to scan.
#[derive(Debug, Clone)]
pub enum Target {
    /// Files and folders; `-` is standard input.
    Paths(Vec<OsString>),
    /// What the next commit adds; with files, only those (their whole content when they
    /// have no staged change).
    Staged(Vec<OsString>),
    /// Every commit reachable from any ref, or the given revisions and ranges.
    History(Vec<OsString>),
    /// What git's pre-push hook is about to push (its lines on standard input; the arguments
    /// git passes: the remote's name and URL).
    PrePush(Vec<OsString>),
    /// What a server's pre-receive hook receives (its lines on standard input).
    PreReceive(Vec<OsString>),
    /// A commit message file (`-`: standard input), as git will store it: what the
    /// commit-msg, prepare-commit-msg and applypatch-msg hooks run.
    CommitMessage(PathBuf),
    /// The commits of this CI job's push, pull request or merge request (docs/ci.md).
    Ci,
}

/// `tokenguard scan`'s options.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// What to scan.
    pub target: Target,
    /// History: list every commit that holds a token, not only the first.
    pub all_occurrences: bool,
    /// Scan files that `.gitignore` would leave out.
    pub no_ignore: bool,
    /// Repository to scan (default: the one of the current folder, as git finds it).
    pub repo: Option<PathBuf>,
    /// How to report.
    pub output: OutputOptions,
    /// Where the configuration comes from.
    pub config: ConfigOptions,
    /// Live checks of the tokens found (`--verify`; docs/verify.md).
    pub verify: VerifyRequest,
}

/// A scan's pipeline and, when asked for, its verification stage.
struct Stages {
    pipeline: Pipeline,
    checks: Option<Arc<Checks>>,
}

impl Stages {
    /// The pipeline of `loaded`, with checks when `o` asks (`hook`: a hook's scan).
    fn new(loaded: Loaded, o: &ScanOptions, hook: bool) -> Result<Stages> {
        let checks = loaded.checks(&o.verify, hook)?;
        Ok(Stages::assemble(loaded, checks))
    }

    /// The pipeline of `loaded`, with `checks`.
    fn assemble(loaded: Loaded, checks: Option<Arc<Checks>>) -> Stages {
        let mut pipeline = loaded.pipeline();
        if let Some(c) = &checks {
            pipeline = pipeline.with_checks(Arc::clone(c));
        }
        Stages { pipeline, checks }
    }

    /// `sink` behind the verification stage, when there is one.
    fn sink<'a>(&self, sink: &'a mut dyn Sink, o: &ScanOptions) -> Box<dyn Sink + 'a> {
        match &self.checks {
            None => Box::new(sink),
            Some(checks) => {
                let checks = Arc::clone(checks);
                let wait = Box::new(move || checks.finish());
                Box::new(WithVerification::new(sink, wait, o.verify.only_active))
            }
        }
    }

    /// What comes after the report: switching the tokens confirmed active off (`--disable`).
    fn after(&self, o: &ScanOptions, io: &mut Io) -> Result<()> {
        let (Some(checks), Some(action)) = (&self.checks, o.verify.revoke) else { return Ok(()) };
        super::revoke::run(checks, action, o.verify.yes, io)
    }
}

/// Runs a scan.
pub fn run(o: &ScanOptions, io: &mut Io) -> Result<ExitStatus> {
    // Every scan reads its configuration against the built-in rules: they are parsed on
    // another thread meanwhile, while the scan opens the repository and reads its input (the
    // configuration waits for them).
    std::thread::spawn(|| crate::rules::builtin_ref().len());
    match &o.target {
        Target::Paths(targets) => paths(o, targets, io),
        Target::Staged(files) => staged(o, files, io),
        Target::History(specs) => history(o, specs, io),
        Target::PrePush(args) => push(o, args, true, io),
        Target::PreReceive(args) => push(o, args, false, io),
        Target::CommitMessage(file) => commit_message(o, file, io),
        Target::Ci => ci(o, io),
    }
}

/// `scan --ci`: the commits of this CI job's push, pull request or merge request, from the CI
/// system's variables (and GitHub's event file), scanned as `scan --history` scans them.
fn ci(o: &ScanOptions, io: &mut Io) -> Result<ExitStatus> {
    let repo = repo::open(o.repo.as_deref())?;
    let var = |k: &str| std::env::var(k).ok();
    let event = match var("GITHUB_EVENT_PATH").filter(|p| !p.is_empty()) {
        Some(path) if var("GITHUB_ACTIONS").as_deref() == Some("true") => Some(
            String::from_utf8_lossy(
                &crate::fs::read_regular(std::path::Path::new(&path))
                    .map_err(|source| Error::Read { path: path.clone().into(), source })?,
            )
            .into_owned(),
        ),
        _ => None,
    };
    let ci = crate::source::ci::revisions(&repo, var, event.as_deref())?;
    if !o.output.quiet {
        note(&mut io.err, &format!("tokenguard: {}: {}", ci.system.name(), ci.what));
        for n in &ci.notes {
            note(&mut io.err, &format!("tokenguard: note: {n}"));
        }
    }
    let loaded = Loaded::read(&o.config, repo.workdir(), &io.masker)?;
    let progress = !o.output.quiet && io.err_is_terminal;
    let stages = Stages::new(loaded, o, false)?;
    let status = commits(o, &repo, &ci.revisions, &stages, Mode::History, progress, io)?;
    stages.after(o, io)?;
    Ok(status)
}

/// `scan --commit-msg FILE` (`-`: standard input): the message a commit, a rebase's pick or
/// `git am` is about to store, as git will store it (see [`crate::commit_msg`]).
fn commit_message(o: &ScanOptions, file: &std::path::Path, io: &mut Io) -> Result<ExitStatus> {
    // Outside a repository (a message file checked by hand), git's defaults apply.
    let repo = match &o.repo {
        Some(dir) => Some(repo::open(Some(dir))?),
        None => repo::open(None).ok(),
    };
    let mut text = Vec::new();
    let read = if file == std::path::Path::new("-") {
        io::stdin().lock().read_to_end(&mut text)
    } else {
        // Never wait on a FIFO or a device (opening one blocks): git hands over a regular file.
        crate::fs::read_regular(file).map(|bytes| text = bytes).map(|()| 0)
    };
    read.map_err(|source| Error::Read { path: file.to_path_buf(), source })?;
    let text = crate::commit_msg::Cleanup::from_git(repo.as_ref()).apply(&text);
    let root = repo.as_ref().and_then(|r| r.workdir());
    let stages = Stages::new(Loaded::read(&o.config, root, &io.masker)?, o, true)?;
    let pipeline = &stages.pipeline;
    let mut dest = Destination::open(&o.output, &io.masker)?;
    let (writer, terminal) = dest.writer(&mut io.out, io.out_is_terminal);
    let rules = rule_infos(pipeline);
    let ((), status) = reported(writer, terminal, &o.output, Mode::CommitMessage, rules, |sink| {
        let mut sink = stages.sink(sink, o);
        let mut failed = None;
        let origin = Origin::given(crate::pipeline::changes::COMMIT_MESSAGE, None);
        pipeline.scan_bytes(&text, &origin, &mut |f| deliver(&mut *sink, &mut failed, f));
        failed.map_or(Ok(()), |e| Err(write_error(e, &o.output)))?;
        sink.finish().map_err(|e| write_error(e, &o.output))
    })?;
    stages.after(o, io)?;
    Ok(status)
}

/// A report's write error as the command's error.
fn write_error(e: io::Error, out: &OutputOptions) -> Error {
    Error::Write { path: out.output.clone(), source: e }
}

/// Writes a message line to standard error.
fn note(err: &mut MaskingWriter<Box<dyn Write + Send>>, line: &str) {
    let line = crate::sanitize::for_terminal(line);
    let _ = writeln!(err, "{line}").and_then(|()| err.flush());
}

/// Hands a finding to the sink, keeping the first write error.
fn deliver(sink: &mut dyn Sink, failed: &mut Option<io::Error>, f: Finding) {
    if failed.is_none() {
        if let Err(e) = sink.finding(f) {
            *failed = Some(e);
        }
    }
}

/// Files of one parallel batch of a folder scan (their findings are held until the batch is
/// reported, in order).
const FILES_PER_BATCH: usize = 256;

/// What scanning one file of a batch gave.
enum Scanned {
    Findings(Vec<Finding>),
    /// A large file: scanned alone, its findings streamed to the report.
    Large(Origin, std::fs::File),
    Error(String),
}

/// Files, folders and standard input: files are scanned on every core in batches and
/// reported in the order of their paths as each batch is done.
fn paths(o: &ScanOptions, targets: &[OsString], io: &mut Io) -> Result<ExitStatus> {
    if targets.is_empty() {
        return Err(Error::Invalid(
            "nothing to scan: give files or folders, `-` for standard input, --staged or --history"
                .into(),
        ));
    }
    let root = crate::config::work_tree_root(None);
    let loaded = Loaded::read(&o.config, Some(&root), &io.masker)?;
    let checks = loaded.checks(&o.verify, false)?;
    // The matcher is compiled while the folders are walked.
    loaded.prepare();
    let root = Root::new(&root);
    let paths: Vec<PathBuf> = targets.iter().filter(|t| *t != "-").map(PathBuf::from).collect();
    let entries = match paths.is_empty() {
        true => Vec::new(),
        false => files::walk(&paths, &WalkOptions { no_ignore: o.no_ignore })?,
    };
    let stages = Stages::assemble(loaded, checks);
    let pipeline = &stages.pipeline;
    let mut dest = Destination::open(&o.output, &io.masker)?;
    let (writer, terminal) = dest.writer(&mut io.out, io.out_is_terminal);
    let err = &mut io.err;
    let rules = rule_infos(pipeline);
    let (errors, status) = reported(writer, terminal, &o.output, Mode::Files, rules, |sink| {
        let mut sink = stages.sink(sink, o);
        let sink = &mut *sink;
        let mut failed = None;
        let mut errors = 0usize;
        if targets.iter().any(|t| t == "-") {
            let unit = Unit {
                origin: Origin::given("-", None),
                content: Content::Reader(Box::new(io::stdin().lock())),
            };
            pipeline
                .scan(unit, &mut |f| deliver(sink, &mut failed, f))
                .map_err(|source| Error::Read { path: "standard input".into(), source })?;
        }
        for batch in entries.chunks(FILES_PER_BATCH) {
            let scanned: Vec<Option<Scanned>> =
                batch.par_iter().map(|e| scan_entry(pipeline, &root, e)).collect();
            for (entry, result) in batch.iter().zip(scanned) {
                if let Entry::Skipped(path, why) = entry {
                    if let Err(e) = sink.skipped(path, why) {
                        failed.get_or_insert(e);
                    }
                }
                if let Entry::Error(message) = entry {
                    errors += 1;
                    note(err, &format!("tokenguard: {message}"));
                }
                match result {
                    Some(Scanned::Error(message)) => {
                        errors += 1;
                        note(err, &format!("tokenguard: {message}"));
                    }
                    Some(Scanned::Findings(found)) => {
                        found.into_iter().for_each(|f| deliver(sink, &mut failed, f));
                    }
                    Some(Scanned::Large(origin, file)) => {
                        let shown = origin.file.clone();
                        let unit = Unit { origin, content: Content::File(file) };
                        if let Err(e) = pipeline.scan(unit, &mut |f| deliver(sink, &mut failed, f))
                        {
                            errors += 1;
                            let why = files::short_io(&e);
                            note(err, &format!("tokenguard: cannot read {shown}: {why}"));
                        }
                    }
                    None => {}
                }
            }
            if let Some(e) = failed.take() {
                return Err(write_error(e, &o.output));
            }
        }
        sink.finish().map_err(|e| write_error(e, &o.output))?;
        Ok(errors)
    })?;
    stages.after(o, io)?;
    if errors > 0 {
        return Err(Error::Incomplete(errors));
    }
    Ok(status)
}

/// Scans one entry of a folder scan on a worker thread: a small file at once; a large one is
/// handed back to be scanned alone (its findings streamed, its segments on every core).
fn scan_entry(pipeline: &Pipeline, root: &Root, entry: &Entry) -> Option<Scanned> {
    let Entry::File(path) = entry else { return None };
    let shown = path.to_string_lossy();
    let unit = match root.unit(path) {
        Ok(unit) => unit,
        Err(e) => {
            return Some(Scanned::Error(format!("cannot read {shown}: {}", files::short_io(&e))))
        }
    };
    let unit = match unit.content {
        Content::File(file)
            if file.metadata().is_ok_and(|m| m.len() >= crate::pipeline::content::MAP_MIN) =>
        {
            return Some(Scanned::Large(unit.origin, file));
        }
        content => Unit { origin: unit.origin, content },
    };
    Some(match pipeline.findings(unit) {
        Ok(found) => Scanned::Findings(found),
        Err(e) => Scanned::Error(format!("cannot read {shown}: {}", files::short_io(&e))),
    })
}

/// `scan --staged [FILE...]`: what the next commit adds (the pre-commit hook's scan). The
/// configuration is read and validated on every run, even when nothing is staged; the
/// pipeline is built only when there is something to scan (the built-in matcher is compiled
/// on another thread while the staged changes are read: when nothing is staged, the run ends
/// without waiting for it).
fn staged(o: &ScanOptions, files: &[OsString], io: &mut Io) -> Result<ExitStatus> {
    let repo = repo::open(o.repo.as_deref())?;
    let index = repo::index_path(&repo, o.repo.as_deref())?;
    let root = repo::work_tree(&repo)?.to_path_buf();
    let loaded = Loaded::read(&o.config, Some(&root), &io.masker)?;
    loaded.prepare();
    let files: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    let staged = staged::read(&repo, &index, &files)?;
    let mode = if staged.whole_files { Mode::Files } else { Mode::Staged };
    // The rules are compiled only when there is something to scan.
    let stages = match staged.files.is_empty() {
        true => None,
        false => Some(Stages::new(loaded, o, true)?),
    };
    let pipeline = stages.as_ref().map(|s| &s.pipeline);
    let rules = pipeline.map(rule_infos).unwrap_or_default();
    let mut dest = Destination::open(&o.output, &io.masker)?;
    let (writer, terminal) = dest.writer(&mut io.out, io.out_is_terminal);
    let ((), status) = reported(writer, terminal, &o.output, mode, rules, |sink| {
        let mut verified = match &stages {
            Some(stages) => stages.sink(sink, o),
            None => Box::new(sink),
        };
        let mut sink = ByPosition::new(&mut *verified);
        let written = |r: io::Result<()>| r.map_err(|e| write_error(e, &o.output));
        for (path, why) in &staged.skipped {
            written(sink.skipped(path, why))?;
        }
        if let Some(pipeline) = pipeline {
            for file in &staged.files {
                let unit = file.unit();
                let path = PathBuf::from(&*unit.origin.file);
                let mut found =
                    pipeline.findings(unit).map_err(|source| Error::Read { path, source })?;
                pipeline.keep_new(&mut found, &file.held());
                for f in found {
                    written(sink.finding(f))?;
                }
            }
        }
        written(sink.finish())
    })?;
    if let Some(stages) = &stages {
        stages.after(o, io)?;
    }
    Ok(status)
}

/// `scan --history [RANGE...]`: the tokens each commit introduced, in every commit reachable
/// from any ref, or in the ranges given (git's syntax).
fn history(o: &ScanOptions, specs: &[OsString], io: &mut Io) -> Result<ExitStatus> {
    let repo = repo::open(o.repo.as_deref())?;
    if repo.is_shallow() {
        note(
            &mut io.err,
            "tokenguard: note: this is a shallow clone; commits before its oldest fetched \
             commits are not scanned (`git fetch --unshallow` to scan them)",
        );
    }
    let loaded = Loaded::read(&o.config, repo.workdir(), &io.masker)?;
    let revs = if specs.is_empty() {
        history::all_refs(&repo)?
    } else {
        let specs = specs
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
    let progress = !o.output.quiet && io.err_is_terminal;
    let stages = Stages::new(loaded, o, false)?;
    let status = commits(o, &repo, &revs, &stages, Mode::History, progress, io)?;
    stages.after(o, io)?;
    Ok(status)
}

/// Scans the commits of `revs` (read through `objects`: the repository, or a view that sees
/// a push's quarantined objects) and the messages of its annotated tags, and reports them by
/// introduction. In a partial clone, what the scan would read and the repository lacks is
/// fetched first; what still lacks is listed as skipped, and a scan that found nothing else
/// then ends with exit 2 (it could not look everywhere), never 0.
fn commits(
    o: &ScanOptions,
    objects: &git2::Repository,
    revs: &history::Revisions,
    stages: &Stages,
    mode: Mode,
    progress: bool,
    io: &mut Io,
) -> Result<ExitStatus> {
    let pipeline = &stages.pipeline;
    let started = Instant::now();
    let mut plan = history::plan(objects, &revs.include, &revs.exclude)?.with_tags(&revs.tags);
    plan.complete(&mut |line| note(&mut io.err, line))?;
    let commits = plan.len();
    let bar = progress.then(|| progress_bar(commits as u64));
    let cache = BlobCache::default();
    let found = AtomicU64::new(0);
    let mut occurrences = plan.run(|unit, rank, out: &mut Vec<(usize, Finding)>| {
        let mut here = Vec::new();
        pipeline.scan_commit(unit, &cache, &mut here)?;
        if let Some(bar) = &bar {
            let n = here.len() as u64;
            let total = found.fetch_add(n, Ordering::Relaxed) + n;
            if n > 0 {
                bar.set_message(format!("{total} findings"));
            }
            bar.inc(1);
        }
        out.extend(here.into_iter().map(|f| (rank, f)));
        Ok(())
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    for tag in plan.tag_messages()? {
        let mut here = Vec::new();
        pipeline
            .scan_capped(tag.unit(), &cache, &mut here)
            .map_err(|source| Error::Read { path: "a tag message".into(), source })?;
        occurrences.extend(here.into_iter().map(|f| (tag.rank, f)));
    }
    for n in plan.notes() {
        note(&mut io.err, &format!("tokenguard: note: {n}"));
    }
    let skipped = plan.skipped();
    let left_out = cache.left_out();
    let mut dest = Destination::open(&o.output, &io.masker)?;
    let (writer, terminal) = dest.writer(&mut io.out, io.out_is_terminal);
    let rules = rule_infos(pipeline);
    let ((), status) = reported(writer, terminal, &o.output, mode, rules, |sink| {
        let mut verified = stages.sink(sink, o);
        let mut sink = ByIntroduction::new(&mut *verified, o.all_occurrences);
        let written = |r: io::Result<()>| r.map_err(|e| write_error(e, &o.output));
        for s in &skipped {
            written(sink.skipped(&s.path, &s.reason))?;
        }
        for (file, reason) in &left_out {
            written(sink.skipped(file, reason))?;
        }
        for (rank, f) in occurrences {
            sink.occurrence(rank, f);
        }
        written(sink.finish())
    })?;
    for (file, reason) in left_out.iter().take(NAMED_ON_STDERR) {
        note(&mut io.err, &format!("tokenguard: note: {file}: {reason}"));
    }
    if left_out.len() > NAMED_ON_STDERR {
        let more = left_out.len() - NAMED_ON_STDERR;
        note(&mut io.err, &format!("tokenguard: note: ... and {more} more (see the report)"));
    }
    let status = match unscanned(&skipped, io) {
        true if status == ExitStatus::Clean => ExitStatus::Error,
        _ => status,
    };
    // What was scanned, where the progress bar stood (a terminal), or when asked (`-v`).
    if !o.output.quiet && mode == Mode::History && (progress || o.output.verbose) {
        let (blobs, bytes) = cache.scanned();
        note(
            &mut io.err,
            &format!(
                "tokenguard: scanned {commits} commit(s), {blobs} blob(s), {} in {:.1} s",
                human_bytes(bytes),
                started.elapsed().as_secs_f64()
            ),
        );
    }
    Ok(status)
}

/// Says on standard error what a partial clone could not give the scan (the count, then
/// each commit and path, the first few); `true` when anything was passed over.
fn unscanned(skipped: &[history::Skipped], io: &mut Io) -> bool {
    if skipped.is_empty() {
        return false;
    }
    note(
        &mut io.err,
        &format!(
            "tokenguard: {} file version(s) or folder(s) not scanned: this partial clone lacks \
             them (listed in the report as skipped); the scan cannot say the history is clean",
            skipped.len()
        ),
    );
    for s in skipped.iter().take(NAMED_ON_STDERR) {
        note(&mut io.err, &format!("tokenguard:   not scanned: {} in commit {}", s.path, s.commit));
    }
    if skipped.len() > NAMED_ON_STDERR {
        let more = skipped.len() - NAMED_ON_STDERR;
        note(&mut io.err, &format!("tokenguard:   ... and {more} more (see the report)"));
    }
    true
}

/// Lines of a list that standard error names one by one (the report lists them all).
const NAMED_ON_STDERR: usize = 20;

/// `1.2 MB`, `340 KB`, `12 bytes`.
fn human_bytes(n: u64) -> String {
    match n {
        0..=9_999 => format!("{n} bytes"),
        10_000..=9_999_999 => format!("{:.0} KB", n as f64 / 1e3),
        10_000_000..=9_999_999_999 => format!("{:.1} MB", n as f64 / 1e6),
        _ => format!("{:.2} GB", n as f64 / 1e9),
    }
}

/// A progress bar on standard error for `commits` commits.
fn progress_bar(commits: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(commits),
        indicatif::ProgressDrawTarget::stderr_with_hz(10),
    );
    // The style first: a message set before it would draw a frame in indicatif's default style.
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} scanning history {bar:30} {pos}/{len} commits, {rate}, {msg} [{elapsed}]",
        )
        .expect("valid template")
        // A whole number of commits per second (indicatif's own shows four decimals).
        .with_key("rate", |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0}/s", s.per_sec());
        }),
    );
    bar.set_message("0 findings");
    bar
}

/// `scan --pre-push` / `scan --pre-receive`: the commits a push sends (or a server receives)
/// that the other side does not have, read from the hook's standard input. Under the
/// pre-commit framework (empty standard input), pre-push uses the `PRE_COMMIT_*` variables.
fn push(o: &ScanOptions, args: &[OsString], pre_push: bool, io: &mut Io) -> Result<ExitStatus> {
    let hook = if pre_push { "pre-push" } else { "pre-receive" };
    let max_targets = if pre_push { 2 } else { 0 };
    if args.len() > max_targets {
        return Err(Error::Invalid(format!(
            "--{hook} takes {} (git passes them to the hook); the pushed refs come on standard input",
            if pre_push { "at most the remote's name and URL" } else { "no arguments" }
        )));
    }
    // In a pre-receive hook the pushed objects sit in a quarantine folder that git names in
    // the environment; opening from the environment sees them.
    let repo = repo::open(o.repo.as_deref())?;
    let stdin = io::stdin();
    let mut input = String::new();
    if !stdin.is_terminal() {
        stdin
            .lock()
            .read_to_string(&mut input)
            .map_err(|source| Error::Read { path: "standard input".into(), source })?;
    }
    let revs = if pre_push {
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
    let mut loaded = Loaded::read(&o.config, repo.workdir(), &io.masker)?;
    if !pre_push {
        // On the server only the server's own configuration allows: a line of the push
        // cannot allow its own token.
        loaded.allowlist_mut().ignore_inline_marker();
    }
    // Under a pre-receive quarantine, scan through a view that sees the pushed objects.
    let view =
        if pre_push { None } else { push::QuarantineView::from_env(|k| std::env::var(k).ok())? };
    let objects = view.as_ref().map_or(&repo, |v| &v.repo);
    if revs.include.is_empty() && o.output.verbose {
        note(&mut io.err, &format!("tokenguard: {hook}: no new commits to scan"));
    }
    let mode = if pre_push { Mode::Push } else { Mode::Receive };
    if !pre_push && o.verify.enabled {
        return Err(Error::Invalid(
            "--verify is never done in --pre-receive: a server does not send pushed tokens anywhere"
                .into(),
        ));
    }
    let stages = Stages::new(loaded, o, true)?;
    let status = commits(o, objects, &revs, &stages, mode, false, io)?;
    stages.after(o, io)?;
    Ok(status)
}
