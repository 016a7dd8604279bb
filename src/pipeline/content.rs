//! The matcher over each shape of content: a stream (standard input), a file (mapped and
//! searched on every core when large), the added lines of a change, binary content compared
//! with its old version. Matches become findings here: where they stand (line, column), and
//! what the allowlist says of them. Findings are handed to `emit` in order, a batch at a time,
//! so that a huge file never holds all of its findings.

use std::fs::File;
use std::io::{self, Read};
use std::ops::Range;
use std::sync::Arc;

use rayon::prelude::*;

use super::Pipeline;
use crate::allowlist::Context;
use crate::finding::Finding;
use crate::matcher::Match;
use crate::stream::{count_newlines, LineCounter, Windows, CONTEXT, OVERLAP};
use crate::unit::{AddedLines, Origin};

/// Regular files of at least this size are mapped into memory and searched in parallel
/// segments; smaller ones (and pipes, devices, standard input) are read as a stream.
pub const MAP_MIN: u64 = 1 << 20;
/// Bytes reported by one parallel task of a mapped file: at least this many where there are
/// enough, up to [`SEGMENT_MAX`] (each task also reads [`OVERLAP`] bytes past its segment's
/// end: the fewer segments, the less is read twice; [`segments`]).
const SEGMENT: usize = 2 << 20;
const SEGMENT_MAX: usize = 8 << 20;
/// Bytes of a file mapped at once (a batch: the mappings of the batch searched and the one
/// before it, unmapped meanwhile, hold at most twice as much resident).
const BATCH: usize = 16 << 20;

impl Pipeline {
    /// Scans the added lines of one file: a token is reported when it starts in an added
    /// line (the context lines around them only give keyed formats their key).
    pub fn scan_added(&self, added: &AddedLines, origin: &Origin, emit: &mut dyn FnMut(Finding)) {
        if added.is_empty() {
            return;
        }
        let mut labels = None;
        for (m, token) in self.matches(added.text()) {
            let (line, column, range, is_added) = added.locate(m.span.start);
            if !is_added {
                continue;
            }
            let text = &added.text()[range];
            let labels = labels.get_or_insert_with(|| self.labels(origin));
            self.check(&m, token, added.text());
            emit(self.finding(m, origin, labels, (line, column, None), text));
        }
    }

    /// Scans content held in memory (a blob, a message): at once when small, in windows
    /// when large.
    pub fn scan_bytes(&self, bytes: &[u8], origin: &Origin, emit: &mut dyn FnMut(Finding)) {
        if bytes.len() > crate::stream::WINDOW {
            return self
                .scan_reader(bytes, origin, emit)
                .expect("reading from memory does not fail");
        }
        let mut lines = LineCounter::default();
        let mut labels = None;
        for (m, token) in self.matches(bytes) {
            let (line, column) = lines.locate(bytes, 0, m.span.start as u64);
            let text = &bytes[line_in(bytes, m.span.start)];
            let labels = labels.get_or_insert_with(|| self.labels(origin));
            self.check(&m, token, bytes);
            emit(self.finding(m, origin, labels, (line, column, None), text));
        }
    }

    /// Scans a whole stream (a file, stdin) of any size with bounded memory.
    pub fn scan_reader(
        &self,
        reader: impl Read,
        origin: &Origin,
        emit: &mut dyn FnMut(Finding),
    ) -> std::io::Result<()> {
        let mut windows = Windows::new(reader);
        let mut lines = LineCounter::default();
        let mut labels = None;
        while let Some(w) = windows.next()? {
            for (m, token) in self.matches(w.bytes) {
                if !w.report.contains(&m.span.start) {
                    continue;
                }
                let at = w.base + m.span.start as u64;
                let (line, column) = lines.locate(w.bytes, w.base, at);
                let text = &w.bytes[line_in(w.bytes, m.span.start)];
                let labels = labels.get_or_insert_with(|| self.labels(origin));
                self.check(&m, token, w.bytes);
                emit(self.finding(m, origin, labels, (line, column, None), text));
            }
            lines.advance(w.bytes, w.base, w.base + w.report.end as u64);
        }
        Ok(())
    }

    /// Scans binary content: reports tokens of `new` that `old` does not hold, by byte offset.
    pub fn scan_binary(
        &self,
        new: &[u8],
        old: Option<&[u8]>,
        origin: &Origin,
        emit: &mut dyn FnMut(Finding),
    ) {
        let old_prints: Vec<String> = old
            .map(|o| self.matcher.find(o).into_iter().map(|m| m.fingerprint).collect())
            .unwrap_or_default();
        let mut labels = None;
        for (m, token) in self.matches(new) {
            if old_prints.contains(&m.fingerprint) {
                continue;
            }
            let text = &new[line_in(new, m.span.start)];
            let offset = Some(m.span.start as u64);
            let labels = labels.get_or_insert_with(|| self.labels(origin));
            self.check(&m, token, new);
            emit(self.finding(m, origin, labels, (0, 0, offset), text));
        }
    }

    /// Scans binary content of any size read as a stream, in windows with bounded memory:
    /// tokens reported by byte offset (as [`Pipeline::scan_binary`] with no old version).
    pub fn scan_binary_reader(
        &self,
        reader: impl Read,
        origin: &Origin,
        emit: &mut dyn FnMut(Finding),
    ) -> io::Result<()> {
        let mut windows = Windows::new(reader);
        let mut labels = None;
        while let Some(w) = windows.next()? {
            for m in self.matcher.find(w.bytes) {
                if !w.report.contains(&m.span.start) {
                    continue;
                }
                let text = &w.bytes[line_in(w.bytes, m.span.start)];
                let offset = Some(w.base + m.span.start as u64);
                let labels = labels.get_or_insert_with(|| self.labels(origin));
                emit(self.finding(m, origin, labels, (0, 0, offset), text));
            }
        }
        Ok(())
    }

    /// Scans an open file: a large regular file mapped into memory and searched on every
    /// core, anything else as a stream (see [`Pipeline::scan_reader`]).
    pub fn scan_file(
        &self,
        file: File,
        origin: &Origin,
        emit: &mut dyn FnMut(Finding),
    ) -> io::Result<()> {
        let len = match file.metadata() {
            Ok(m) if m.is_file() && m.len() >= MAP_MIN => m.len(),
            _ => return self.scan_reader(file, origin, emit),
        };
        install_sigbus_handler();
        let mut lines = LinePos { line: 1, start: 0, counted: 0 };
        let labels = self.labels(origin);
        // The findings of the last batch are put in order, and its mapping unmapped (a
        // millisecond for 16 MiB), while the next batch is searched.
        let mut searched: Option<(Vec<Segment>, memmap2::Mmap)> = None;
        let mut pos = 0u64;
        while pos < len {
            let map_start = pos.saturating_sub(CONTEXT as u64);
            let map_end = (pos + (BATCH + OVERLAP) as u64).min(len);
            let map = match map_range(&file, map_start, map_end - map_start) {
                Ok(map) => map,
                // A file system that cannot map files (some FUSE ones) is read as a stream.
                Err(_) if pos == 0 => return self.scan_reader(file, origin, emit),
                Err(e) => return Err(e),
            };
            let bytes = &map[..];
            let from = (pos - map_start) as usize;
            let to = if map_end == len { bytes.len() } else { from + BATCH };
            let (parts, ready) = rayon::join(
                || self.scan_region(bytes, map_start, from..to, origin, &labels),
                || searched.take().map(|(parts, _unmapped)| merge(parts, &mut lines, &file)),
            );
            if let Some(ready) = ready {
                ready?.into_iter().for_each(&mut *emit);
            }
            searched = Some((parts, map));
            pos = map_start + to as u64;
        }
        if let Some((parts, _)) = searched {
            merge(parts, &mut lines, &file)?.into_iter().for_each(emit);
        }
        Ok(())
    }

    /// Scans `bytes[report]` (a part of a file that starts at offset `base`; the bytes around
    /// give the matcher its context) in segments on every core; [`merge`] then fills in lines
    /// and columns in order.
    fn scan_region(
        &self,
        bytes: &[u8],
        base: u64,
        report: Range<usize>,
        origin: &Origin,
        labels: &Labels,
    ) -> Vec<Segment> {
        segments(report, rayon::current_num_threads())
            .par_iter()
            .map(|r| self.scan_segment(bytes, base, r.clone(), origin, labels))
            .collect()
    }

    /// One segment of [`Pipeline::scan_region`]: findings with their line counted from the
    /// segment's start (column known only when a newline precedes them in the segment). The
    /// newlines after its last finding are not counted here: only a later finding needs them
    /// ([`merge`]), and a file without findings needs none.
    fn scan_segment(
        &self,
        bytes: &[u8],
        base: u64,
        r: Range<usize>,
        origin: &Origin,
        labels: &Labels,
    ) -> Segment {
        let lo = r.start.saturating_sub(CONTEXT);
        let hi = (r.end + OVERLAP).min(bytes.len());
        let window = &bytes[lo..hi];
        let mut part = Segment { start: base + r.start as u64, ..Segment::default() };
        let mut counted = r.start;
        // Labels of this segment's own: findings of two threads never share a counter.
        let mut own = None;
        for (m, token) in self.matches(window) {
            let at = lo + m.span.start;
            if !r.contains(&at) {
                continue;
            }
            part.count(&bytes[counted..at], base + counted as u64);
            counted = at;
            let at = base + at as u64;
            let column = part.last_line_start.map_or(0, |s| at - s + 1);
            let text = &window[line_in(window, m.span.start)];
            let labels = own.get_or_insert_with(|| labels.copy());
            self.check(&m, token, window);
            let f = self.finding(m, origin, labels, (0, column, None), text);
            part.found.push((f, part.newlines, at));
        }
        part.counted_to = base + counted as u64;
        part
    }

    /// The labels of the findings in a file. A file may be named after a token: its name is
    /// masked here already, before a report encodes it (a SARIF URI percent-encodes it), as
    /// well as by the masking writer.
    fn labels(&self, origin: &Origin) -> Labels {
        let found = self.matcher.find(origin.file.as_bytes());
        let file = if found.is_empty() {
            Arc::clone(&origin.file)
        } else {
            let secrets: Vec<Range<usize>> = found.into_iter().map(|m| m.secret).collect();
            String::from_utf8_lossy(&crate::mask::mask(origin.file.as_bytes(), &secrets)).into()
        };
        Labels { file, names: self.names.clone() }
    }

    fn finding(
        &self,
        m: Match,
        origin: &Origin,
        labels: &Labels,
        (line, column, offset): (u64, u64, Option<u64>),
        text: &[u8],
    ) -> Finding {
        let label = &labels.names[m.rule];
        let ctx = Context {
            rel_path: origin.rel_path.as_deref(),
            line: text,
            commit: origin.commit.as_ref().map(|c| c.commit.as_str()),
        };
        let allowed_by = self.allowlist.reason(&m, &ctx);
        Finding {
            rule: label.id.clone(),
            description: label.description.clone(),
            provider: label.provider.clone(),
            severity: label.severity,
            file: labels.file.clone(),
            line,
            column,
            offset,
            masked: m.masked,
            token_id: m.token_id,
            fingerprint: m.fingerprint,
            encoding: m.encoding,
            commit: origin.commit.clone(),
            allowed_by,
            verification: None,
        }
    }
}

/// What the findings of one file share: its name as shown, and each rule's id and description.
struct Labels {
    file: Arc<str>,
    names: Vec<super::RuleLabel>,
}

impl Labels {
    /// The same labels in new allocations: findings made on another thread count their
    /// references there, instead of fighting over one cache line.
    fn copy(&self) -> Labels {
        let fresh = |s: &Arc<str>| Arc::<str>::from(&**s);
        Labels {
            file: fresh(&self.file),
            names: self.names.iter().map(super::RuleLabel::copy).collect(),
        }
    }
}

/// The line reached so far in a mapped file: the offset its newlines are counted up to, the
/// number of the line there and the offset where that line starts.
struct LinePos {
    line: u64,
    start: u64,
    counted: u64,
}

impl LinePos {
    /// Counts the newlines from where the count stands up to offset `to` (the start of a
    /// segment with findings), reading that part of `file` again a MiB at a time on every
    /// core (what is resident stays far below that of the batches: [`BATCH`]): the segments
    /// before found nothing, or counted only up to their last finding. (A file with one token
    /// at its end is read twice: 117 MB, 3% more time; a file without findings, most of
    /// them, once.)
    fn catch_up(&mut self, file: &File, to: u64) -> io::Result<()> {
        const CHUNK: u64 = 1 << 20;
        if self.counted >= to {
            return Ok(());
        }
        let chunks: Vec<u64> = (self.counted..to).step_by(CHUNK as usize).collect();
        // Per chunk: its newlines and where the line after its last one starts.
        let counts = chunks
            .par_iter()
            .map(|&at| {
                let map = map_range(file, at, (to - at).min(CHUNK))?;
                let last = memchr::memrchr(b'\n', &map).map(|p| at + p as u64 + 1);
                Ok((count_newlines(&map), last))
            })
            .collect::<io::Result<Vec<(u64, Option<u64>)>>>()?;
        for (n, last) in counts {
            self.line += n;
            if let Some(s) = last {
                self.start = s;
            }
        }
        self.counted = to;
        Ok(())
    }
}

/// What one segment of a mapped file found.
#[derive(Default)]
struct Segment {
    /// Findings, each with the newlines between the segment's start and it, and its offset
    /// in the file.
    found: Vec<(Finding, u64, u64)>,
    /// Where the segment starts (offset in the file).
    start: u64,
    /// Where its newlines are counted up to: its last finding (its start when it has none).
    counted_to: u64,
    /// Newlines counted in the segment.
    newlines: u64,
    /// Where the last line that starts inside the segment starts (offset in the file).
    last_line_start: Option<u64>,
}

impl Segment {
    /// Counts the newlines of `part`, which starts at offset `at` of the file.
    fn count(&mut self, part: &[u8], at: u64) {
        let n = count_newlines(part);
        if n > 0 {
            self.newlines += n;
            self.last_line_start = memchr::memrchr(b'\n', part).map(|p| at + p as u64 + 1);
        }
    }
}

/// `report` cut into segments of equal length for `threads` parallel tasks: two per thread
/// (the work is shared out evenly when a thread is slowed) of at least [`SEGMENT`] bytes
/// (no more segments than with [`SEGMENT`] bytes each), fewer when they would be longer
/// than [`SEGMENT_MAX`].
fn segments(report: Range<usize>, threads: usize) -> Vec<Range<usize>> {
    let len = report.len();
    let count = (2 * threads).min(len.div_ceil(SEGMENT)).max(len.div_ceil(SEGMENT_MAX)).max(1);
    let each = len.div_ceil(count).max(1);
    (report.start..report.end).step_by(each).map(|s| s..(s + each).min(report.end)).collect()
}

/// Puts the findings of searched segments in order, with their lines and columns (the
/// newlines before a segment with findings counted first where they were not:
/// [`LinePos::catch_up`]).
fn merge(parts: Vec<Segment>, lines: &mut LinePos, file: &File) -> io::Result<Vec<Finding>> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.found.len()).sum());
    for part in parts {
        if part.found.is_empty() {
            continue;
        }
        lines.catch_up(file, part.start)?;
        for (mut f, newlines, at) in part.found {
            f.line = lines.line + newlines;
            if newlines == 0 {
                f.column = at - lines.start + 1;
            }
            out.push(f);
        }
        lines.line += part.newlines;
        if let Some(s) = part.last_line_start {
            lines.start = s;
        }
        lines.counted = part.counted_to;
    }
    Ok(out)
}

/// Maps `len` bytes of `file` from `offset`, read-only.
fn map_range(file: &File, offset: u64, len: u64) -> io::Result<memmap2::Mmap> {
    // SAFETY: the mapping is read-only and private to this scan. Another process may change
    // the file meanwhile: changed bytes are then read as they are (as `read` would), and a
    // file cut shorter than what is mapped raises SIGBUS, which the handler below turns into
    // a clean error exit instead of a crash.
    unsafe { memmap2::MmapOptions::new().offset(offset).len(len as usize).map(file) }
}

/// A file cut shorter while it is mapped makes reading the lost pages raise SIGBUS: the
/// process then ends with the error exit code and a message, never a crash report.
fn install_sigbus_handler() {
    #[cfg(unix)]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        extern "C" fn on_sigbus(_: libc::c_int) {
            const MSG: &[u8] =
                b"tokenguard: error: a file got shorter while it was being read; scan it again\n";
            // SAFETY: write(2) and _exit(2) are async-signal-safe.
            unsafe {
                libc::write(2, MSG.as_ptr().cast(), MSG.len());
                libc::_exit(2);
            }
        }
        ONCE.call_once(|| {
            // SAFETY: installs a handler that only calls async-signal-safe functions.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_sigbus as extern "C" fn(libc::c_int) as usize;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
            }
        });
    }
}

/// The line around `at`, bounded to 4 KiB each side (for the inline marker and line regexes).
fn line_in(hay: &[u8], at: usize) -> Range<usize> {
    const REACH: usize = 4096;
    let lo = at.saturating_sub(REACH);
    let hi = (at + REACH).min(hay.len());
    let start = memchr::memrchr(b'\n', &hay[lo..at]).map_or(lo, |p| lo + p + 1);
    let end = memchr::memchr(b'\n', &hay[at..hi]).map_or(hi, |p| at + p);
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cover_the_report_evenly_two_per_thread_within_bounds() {
        const MIB: usize = 1 << 20;
        for threads in [1, 2, 3, 8, 64] {
            for len in [0, 1, MIB, 5 * MIB + 3, BATCH, BATCH + OVERLAP, 40 * MIB + 7] {
                for start in [0, CONTEXT] {
                    let report = start..start + len;
                    let segs = segments(report.clone(), threads);
                    // Contiguous, in order, covering the report exactly.
                    let mut at = report.start;
                    for s in &segs {
                        assert_eq!(s.start, at, "{threads} {len}");
                        assert!(s.end > s.start, "{threads} {len}: empty segment");
                        at = s.end;
                    }
                    assert_eq!(at, report.end, "{threads} {len}");
                    if len == 0 {
                        continue;
                    }
                    // Equal but for the last; no more than at SEGMENT bytes each, at least two
                    // per thread where that leaves them SEGMENT long, none over SEGMENT_MAX.
                    let longest = segs.iter().map(|s| s.len()).max().unwrap();
                    assert!(segs.iter().all(|s| s.len() + segs.len() > longest), "{segs:?}");
                    assert!(segs.len() <= len.div_ceil(SEGMENT), "{threads} {len}: {}", segs.len());
                    assert!(longest <= SEGMENT_MAX, "{threads} {len}: {longest}");
                    let want = (2 * threads).min(len / SEGMENT).max(1);
                    assert!(segs.len() >= want, "{threads} {len}: {} < {want}", segs.len());
                }
            }
        }
        // A batch on two threads: four segments of 4 MiB (at 2 MiB, eight read OVERLAP
        // bytes past their ends); on eight, eight of 2 MiB.
        assert_eq!(segments(0..BATCH, 2).len(), 4);
        assert_eq!(segments(0..BATCH, 8).len(), 8);
    }
}
