//! Sinks: where findings meet their consumers. A command drives a source through the
//! pipeline and hands every finding (blocking or allowed) and every skipped input to a sink;
//! reporters (human, JSON, SARIF) are sinks, and the stages that need the whole scan before
//! they can pass anything on (history's "report a token at the commit that introduced it",
//! the staged scan's order by file) are sinks that wrap another.

use std::collections::HashSet;
use std::io;
use std::sync::Arc;

use crate::finding::{Finding, Findings};

/// Receives the results of a scan, in the order they are to be reported.
pub trait Sink {
    /// A token found (blocking, or allowed when `allowed_by` is set).
    fn finding(&mut self, finding: Finding) -> io::Result<()>;
    /// An input skipped on purpose, with the reason (reported, never silent).
    fn skipped(&mut self, path: &str, reason: &str) -> io::Result<()>;
    /// The scan is over: write what is held, the summary.
    fn finish(&mut self) -> io::Result<()>;
}

impl Sink for Findings {
    fn finding(&mut self, finding: Finding) -> io::Result<()> {
        self.push(finding);
        Ok(())
    }

    fn skipped(&mut self, path: &str, reason: &str) -> io::Result<()> {
        self.skipped.push((path.to_string(), reason.to_string()));
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Counts what passes on to the inner sink: the exit code's source.
pub struct Counted<S> {
    /// The sink counted.
    pub inner: S,
    /// Blocking findings.
    pub findings: usize,
    /// Allowed findings.
    pub allowed: usize,
}

impl<S: Sink> Counted<S> {
    /// Counts what goes to `inner`.
    pub fn new(inner: S) -> Self {
        Counted { inner, findings: 0, allowed: 0 }
    }
}

impl<S: Sink> Sink for Counted<S> {
    fn finding(&mut self, finding: Finding) -> io::Result<()> {
        if finding.allowed_by.is_some() {
            self.allowed += 1;
        } else {
            self.findings += 1;
        }
        self.inner.finding(finding)
    }

    fn skipped(&mut self, path: &str, reason: &str) -> io::Result<()> {
        self.inner.skipped(path, reason)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.inner.finish()
    }
}

impl<S: Sink + ?Sized> Sink for &mut S {
    fn finding(&mut self, finding: Finding) -> io::Result<()> {
        (**self).finding(finding)
    }

    fn skipped(&mut self, path: &str, reason: &str) -> io::Result<()> {
        (**self).skipped(path, reason)
    }

    fn finish(&mut self) -> io::Result<()> {
        (**self).finish()
    }
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    fn finding(&mut self, finding: Finding) -> io::Result<()> {
        (**self).finding(finding)
    }

    fn skipped(&mut self, path: &str, reason: &str) -> io::Result<()> {
        (**self).skipped(path, reason)
    }

    fn finish(&mut self) -> io::Result<()> {
        (**self).finish()
    }
}

/// Holds everything, then passes it on sorted by file and position (the staged scan, whose
/// changes come in git's diff order).
pub struct ByPosition<S> {
    inner: S,
    held: Findings,
}

impl<S: Sink> ByPosition<S> {
    /// Sorts what goes to `inner`.
    pub fn new(inner: S) -> Self {
        ByPosition { inner, held: Findings::default() }
    }
}

impl<S: Sink> Sink for ByPosition<S> {
    fn finding(&mut self, finding: Finding) -> io::Result<()> {
        self.held.push(finding);
        Ok(())
    }

    fn skipped(&mut self, path: &str, reason: &str) -> io::Result<()> {
        self.inner.skipped(path, reason)
    }

    fn finish(&mut self) -> io::Result<()> {
        let mut all = std::mem::take(&mut self.held.findings);
        all.append(&mut self.held.allowed);
        all.sort_by(|a, b| {
            (&a.file, a.line, a.column, a.offset).cmp(&(&b.file, b.line, b.column, b.offset))
        });
        for f in all {
            self.inner.finding(f)?;
        }
        self.inner.finish()
    }
}

/// History and push scans: holds every occurrence, then passes them on in the order of the
/// commits (commit time, then the order the source gave them: parents before children), a
/// token at a path reported once, at the earliest commit that introduced it (unless every
/// occurrence is asked for).
pub struct ByIntroduction<S> {
    inner: S,
    all_occurrences: bool,
    /// Each finding with the position of its commit in the source's order.
    held: Vec<(usize, Finding)>,
}

impl<S: Sink> ByIntroduction<S> {
    /// Orders and dedups what goes to `inner`.
    pub fn new(inner: S, all_occurrences: bool) -> Self {
        ByIntroduction { inner, all_occurrences, held: Vec::new() }
    }

    /// A finding of the commit that stands at `rank` in the source's topological order.
    pub fn occurrence(&mut self, rank: usize, finding: Finding) {
        self.held.push((rank, finding));
    }
}

impl<S: Sink> Sink for ByIntroduction<S> {
    fn finding(&mut self, finding: Finding) -> io::Result<()> {
        self.occurrence(usize::MAX, finding);
        Ok(())
    }

    fn skipped(&mut self, path: &str, reason: &str) -> io::Result<()> {
        self.inner.skipped(path, reason)
    }

    fn finish(&mut self) -> io::Result<()> {
        let mut all = std::mem::take(&mut self.held);
        let time = |f: &Finding| f.commit.as_ref().map_or(0, |c| c.time);
        all.sort_by(|(ra, a), (rb, b)| {
            (time(a), ra, &a.file, a.line, a.column, a.offset).cmp(&(
                time(b),
                rb,
                &b.file,
                b.line,
                b.column,
                b.offset,
            ))
        });
        let mut seen: HashSet<(bool, String, Arc<str>)> = HashSet::new();
        for (_, f) in all {
            if !self.all_occurrences
                && !seen.insert((f.allowed_by.is_some(), f.fingerprint.clone(), f.file.clone()))
            {
                continue;
            }
            self.inner.finding(f)?;
        }
        self.inner.finish()
    }
}

/// What a [`Threaded`] sink passes to its thread.
pub enum Message {
    /// Findings, in order.
    Findings(Vec<Finding>),
    /// A skipped input and the reason.
    Skipped(String, String),
    /// The scan is over: finish the report.
    Finish,
}

/// Findings held before they are passed to the thread.
const THREADED_BATCH: usize = 1024;

/// Hands findings to a sink that runs on another thread (a reporter rendering, masking and
/// writing), in batches over a bounded channel, so that the scan goes on meanwhile. Created
/// by [`threaded`].
pub struct Threaded {
    tx: Option<std::sync::mpsc::SyncSender<Message>>,
    batch: Vec<Finding>,
}

impl Threaded {
    fn send(&mut self, m: Message) -> io::Result<()> {
        let closed = || io::Error::new(io::ErrorKind::BrokenPipe, "the report stopped");
        match &self.tx {
            Some(tx) => tx.send(m).map_err(|_| closed()),
            None => Ok(()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        self.send(Message::Findings(batch))
    }
}

impl Sink for Threaded {
    fn finding(&mut self, finding: Finding) -> io::Result<()> {
        self.batch.push(finding);
        if self.batch.len() >= THREADED_BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn skipped(&mut self, path: &str, reason: &str) -> io::Result<()> {
        self.flush()?;
        self.send(Message::Skipped(path.to_string(), reason.to_string()))
    }

    /// Passes on what is held and asks the thread to finish (once; later calls do nothing).
    fn finish(&mut self) -> io::Result<()> {
        self.flush()?;
        self.send(Message::Finish)?;
        self.tx = None;
        Ok(())
    }
}

/// Runs `inner` on a thread of `scope`, fed by the returned [`Threaded`] sink. The thread
/// finishes `inner` when told to ([`Sink::finish`]); if the sender is dropped without that
/// (the scan failed), it stops without finishing. Its result is the first write error.
pub fn threaded<'scope, 'env, S: Sink + Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    mut inner: S,
) -> (Threaded, std::thread::ScopedJoinHandle<'scope, io::Result<()>>) {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Message>(8);
    let handle = scope.spawn(move || {
        for m in rx {
            match m {
                Message::Findings(batch) => {
                    for f in batch {
                        inner.finding(f)?;
                    }
                }
                Message::Skipped(path, reason) => inner.skipped(&path, &reason)?,
                Message::Finish => return inner.finish(),
            }
        }
        Ok(())
    });
    (Threaded { tx: Some(tx), batch: Vec::with_capacity(THREADED_BATCH) }, handle)
}

/// The verification stage's sink: holds the findings until the checks are done (`wait`
/// returns their results), then passes each on with its verification; with `only_active`,
/// only the findings of tokens confirmed active (triage of a history scan). The results stay
/// in `results` for what comes after the report (switching tokens off).
pub struct WithVerification<S> {
    inner: S,
    wait: Option<Box<dyn FnOnce() -> crate::verify::Verifications + Send>>,
    only_active: bool,
    held: Vec<Finding>,
    /// The checks' results, once the report is finished.
    pub results: Option<crate::verify::Verifications>,
}

impl<S: Sink> WithVerification<S> {
    /// Verifies what goes to `inner`.
    pub fn new(
        inner: S,
        wait: Box<dyn FnOnce() -> crate::verify::Verifications + Send>,
        only_active: bool,
    ) -> Self {
        WithVerification { inner, wait: Some(wait), only_active, held: Vec::new(), results: None }
    }
}

impl<S: Sink> Sink for WithVerification<S> {
    fn finding(&mut self, finding: Finding) -> io::Result<()> {
        self.held.push(finding);
        Ok(())
    }

    fn skipped(&mut self, path: &str, reason: &str) -> io::Result<()> {
        self.inner.skipped(path, reason)
    }

    fn finish(&mut self) -> io::Result<()> {
        let Some(wait) = self.wait.take() else { return Ok(()) };
        let results = wait();
        for mut f in std::mem::take(&mut self.held) {
            f.verification = results.get(&f.fingerprint).cloned();
            let active =
                f.verification.as_ref().is_some_and(|v| v.status == crate::verify::Status::Active);
            if self.only_active && !active {
                continue;
            }
            self.inner.finding(f)?;
        }
        self.results = Some(results);
        self.inner.finish()
    }
}
