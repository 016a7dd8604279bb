//! Changes: the tokens a commit introduced. Each distinct blob is scanned once (a shared cache
//! keeps, per blob id, only the fingerprints of the tokens it holds: nothing for the vast
//! majority of clean blobs); only for a blob that holds tokens are its old versions looked at
//! (see [`CommitUnit::olds`]), and the tokens introduced are those no old version holds. Then
//! the new blob is scanned in full for the positions of those tokens.
//!
//! Work and memory stay bounded whatever the input (a server hook scans anyone's push): a
//! large blob comes as a stream and is searched in windows ([`crate::stream`]); a blob keeps
//! at most [`PRINTS_PER_BLOB`] distinct fingerprints; at most [`FINDINGS_PER_FILE`] findings
//! are kept per file version (and per message), and [`FINDINGS_PER_SCAN`] per scan. What is
//! left out is counted, and listed by [`BlobCache::left_out`] for the report.

use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Read};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::Pipeline;
use crate::finding::Finding;
use crate::matcher::Match;
use crate::stream::{Windows, WINDOW};
use crate::unit::{is_binary, Blob, CommitUnit, Content, ObjectId, Origin, Unit};
use crate::{Error, Result};

/// The file name reports show for a commit's message.
pub const COMMIT_MESSAGE: &str = "commit message";

/// Findings kept per file version of a commit (and per message); the rest are counted.
pub const FINDINGS_PER_FILE: usize = 1_000;
/// Findings kept per scan; the rest are counted.
pub const FINDINGS_PER_SCAN: usize = 100_000;
/// Distinct token fingerprints kept per blob: a blob that holds more is marked incomplete,
/// and its tokens count as added unless an old version is known to hold them.
pub const PRINTS_PER_BLOB: usize = 1_000;

/// Hashes an object id by its first bytes (it is already a cryptographic hash).
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes.iter().take(8) {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
}

type IdMap<V> = HashMap<ObjectId, V, BuildHasherDefault<IdHasher>>;

/// The fingerprints of the tokens a blob holds, sorted, and whether that is all of them
/// (at most [`PRINTS_PER_BLOB`] are kept).
struct Prints {
    list: Box<[String]>,
    /// How often each token of `list` occurs.
    counts: Box<[u64]>,
    complete: bool,
}

impl Prints {
    fn holds(&self, fingerprint: &str) -> bool {
        self.list.binary_search_by(|p| p.as_str().cmp(fingerprint)).is_ok()
    }

    /// How many occurrences of the tokens `keep` selects the blob holds, when all its tokens
    /// are known.
    fn occurrences(&self, keep: impl Fn(&str) -> bool) -> Option<u64> {
        let pairs = self.list.iter().zip(self.counts.iter());
        self.complete.then(|| pairs.filter(|(f, _)| keep(f)).map(|(_, n)| n).sum())
    }
}

/// A blob's fingerprints; `None` for a clean blob.
type Cached = Option<Arc<Prints>>;

const SHARDS: usize = 16;

/// What the commits of a scan share: per blob id, the fingerprints of the tokens it holds
/// (never content), and the findings kept and left out under the caps.
pub struct BlobCache {
    shards: Vec<Mutex<IdMap<Cached>>>,
    /// Blobs scanned, and their bytes.
    blobs: AtomicU64,
    bytes: AtomicU64,
    /// Findings kept so far (at most [`FINDINGS_PER_SCAN`] count).
    kept: AtomicUsize,
    /// Findings left out because the scan's cap was reached.
    over_scan: AtomicU64,
    /// Findings left out of file versions (and messages) by their cap.
    over_file: Mutex<Vec<LeftOut>>,
}

/// Findings of one file version left out by its cap.
struct LeftOut {
    time: i64,
    commit: String,
    file: String,
    count: u64,
}

impl Default for BlobCache {
    fn default() -> Self {
        BlobCache {
            shards: (0..SHARDS).map(|_| Mutex::new(IdMap::default())).collect(),
            blobs: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            kept: AtomicUsize::new(0),
            over_scan: AtomicU64::new(0),
            over_file: Mutex::default(),
        }
    }
}

/// A read error of blob `id`'s stream as the scan's error: the object error it carries (a
/// damaged object), else one naming the object.
fn stream_error(e: io::Error, id: ObjectId) -> Error {
    let unreadable = |why: String| {
        let problem = crate::error::Problem::Unreadable(why);
        Error::object(id, git2::ObjectType::Blob, problem)
    };
    match e.into_inner() {
        Some(inner) => match inner.downcast::<Error>() {
            Ok(e) => *e,
            Err(other) => unreadable(other.to_string()),
        },
        None => unreadable("read error".into()),
    }
}

/// A reader that ends early, once its flag is set.
struct Until<R>(R, Rc<Cell<bool>>);

impl<R: Read> Read for Until<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.1.get() {
            return Ok(0);
        }
        self.0.read(buf)
    }
}

/// A blob held in memory, for a cursor to read.
struct ArcBytes(Arc<Vec<u8>>);

impl AsRef<[u8]> for ArcBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Counts the bytes read through it.
struct Counting<R>(R, u64);

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        self.1 += n as u64;
        Ok(n)
    }
}

impl BlobCache {
    /// How many distinct blobs were scanned, and their bytes.
    pub fn scanned(&self) -> (u64, u64) {
        (self.blobs.load(Ordering::Relaxed), self.bytes.load(Ordering::Relaxed))
    }

    /// What the caps left out, as skipped entries for the report (file, reason): each file
    /// version (or message) over its cap, oldest commit first, then the scan's own cap.
    pub fn left_out(&self) -> Vec<(String, String)> {
        let mut files = std::mem::take(&mut *self.over_file.lock().expect("caps lock"));
        files.sort_by(|a, b| (a.time, &a.commit, &a.file).cmp(&(b.time, &b.commit, &b.file)));
        let mut out: Vec<(String, String)> = files
            .into_iter()
            .map(|l| {
                let reason = format!(
                    "{} more finding(s) in commit {} left out: at most {FINDINGS_PER_FILE} are \
                     reported per file version",
                    l.count, l.commit
                );
                (l.file, reason)
            })
            .collect();
        let over = self.over_scan.load(Ordering::Relaxed);
        if over > 0 {
            let reason = format!(
                "{over} more finding(s) left out: at most {FINDINGS_PER_SCAN} are reported per scan"
            );
            out.push(("(scan)".into(), reason));
        }
        out
    }

    fn shard(&self, id: ObjectId) -> &Mutex<IdMap<Cached>> {
        &self.shards[id.as_bytes()[19] as usize % SHARDS]
    }

    /// The fingerprints of blob `id`, scanning it on first sight (a large one in windows).
    fn prints(&self, unit: &dyn CommitUnit, id: ObjectId, pipeline: &Pipeline) -> Result<Cached> {
        if let Some(p) = self.shard(id).lock().expect("cache lock").get(&id) {
            return Ok(p.clone());
        }
        // Two workers may scan the same blob at once; both get the same answer.
        let mut set: HashMap<String, u64> = HashMap::new();
        let mut complete = true;
        let mut add = |m: Match| {
            if set.len() < PRINTS_PER_BLOB || set.contains_key(&m.fingerprint) {
                *set.entry(m.fingerprint).or_default() += 1;
            } else {
                complete = false;
            }
        };
        let bytes = match unit.blob(id)? {
            Blob::Bytes(b) if b.len() <= WINDOW => {
                pipeline.matcher.find(&b).into_iter().for_each(&mut add);
                b.len() as u64
            }
            Blob::Bytes(b) => {
                pipeline.find_windows(&b[..], &mut add).map_err(|e| stream_error(e, id))?;
                b.len() as u64
            }
            Blob::Stream(r) => {
                let mut counted = Counting(r, 0);
                pipeline.find_windows(&mut counted, &mut add).map_err(|e| stream_error(e, id))?;
                counted.1
            }
        };
        self.blobs.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        let p: Cached = if set.is_empty() {
            None
        } else {
            let mut pairs: Vec<(String, u64)> = set.into_iter().collect();
            pairs.sort();
            let (list, counts): (Vec<String>, Vec<u64>) = pairs.into_iter().unzip();
            Some(Arc::new(Prints { list: list.into(), counts: counts.into(), complete }))
        };
        self.shard(id).lock().expect("cache lock").insert(id, p.clone());
        Ok(p)
    }

    /// Takes one finding out of the scan's allowance.
    fn take_one(&self) -> bool {
        self.kept.fetch_add(1, Ordering::Relaxed) < FINDINGS_PER_SCAN
    }
}

/// The findings of one file version (or message) under the caps.
struct Capped<'a> {
    cache: &'a BlobCache,
    kept: usize,
    over_file: u64,
    over_scan: u64,
}

impl<'a> Capped<'a> {
    fn new(cache: &'a BlobCache) -> Self {
        Capped { cache, kept: 0, over_file: 0, over_scan: 0 }
    }

    /// Keeps `f` in `out`, or counts it when a cap is reached.
    fn offer(&mut self, f: Finding, out: &mut Vec<Finding>) {
        if self.kept >= FINDINGS_PER_FILE {
            self.over_file += 1;
        } else if !self.cache.take_one() {
            self.over_scan += 1;
        } else {
            self.kept += 1;
            out.push(f);
        }
    }

    /// Whether nothing more can be kept (a cap is reached).
    fn full(&self) -> bool {
        self.kept >= FINDINGS_PER_FILE || self.over_scan > 0
    }

    /// Counts `n` more findings left out (those after a scan stopped at a cap).
    fn left_out(&mut self, n: u64) {
        match self.kept >= FINDINGS_PER_FILE {
            true => self.over_file += n,
            false => self.over_scan += n,
        }
    }

    /// Findings offered so far.
    fn seen(&self) -> u64 {
        self.kept as u64 + self.over_file + self.over_scan
    }

    /// Records what was left out of `origin`'s findings.
    fn finish(self, origin: &Origin) {
        if self.over_scan > 0 {
            self.cache.over_scan.fetch_add(self.over_scan, Ordering::Relaxed);
        }
        if self.over_file > 0 {
            let c = origin.commit.as_deref();
            let left = LeftOut {
                time: c.map_or(0, |c| c.time),
                commit: c.map(|c| c.commit.clone()).unwrap_or_default(),
                file: origin.file.to_string(),
                count: self.over_file,
            };
            self.cache.over_file.lock().expect("caps lock").push(left);
        }
    }
}

impl Pipeline {
    /// The tokens `unit` (a commit) introduced: in its changed files, and in its message.
    /// `cache` is shared by every commit of the scan.
    pub fn scan_commit(
        &self,
        unit: &dyn CommitUnit,
        cache: &BlobCache,
        out: &mut Vec<Finding>,
    ) -> Result<()> {
        for (i, file) in unit.files().iter().enumerate() {
            // An object that cannot be read is named by its path.
            let at = |e: crate::Error| e.at_path(file.path.as_bytes());
            let Some(prints) = cache.prints(unit, file.new, self).map_err(at)? else { continue };
            let mut held: Vec<Arc<Prints>> = Vec::new();
            let mut same = false;
            for old in unit.olds(i).map_err(at)? {
                if old == file.new {
                    same = true;
                    break;
                }
                held.extend(cache.prints(unit, old, self).map_err(at)?);
            }
            // A token is introduced when no old version holds it. A blob with more distinct
            // tokens than are kept is scanned whatever its kept ones say.
            let introduced = |f: &str| !held.iter().any(|h| h.holds(f));
            if same || (prints.complete && !prints.list.iter().any(|f| introduced(f))) {
                continue;
            }
            let origin = Origin::new(&file.path).with_commit(unit.info()?);
            let mut capped = Capped::new(cache);
            // When every token of the blob is known, so is how many findings it gives: the
            // scan stops at a cap (after the window it is in), and the rest is counted.
            let total = prints.occurrences(introduced);
            let stop = Rc::new(Cell::new(false));
            let blob = unit.blob(file.new).map_err(at)?;
            self.scan_blob(blob, &origin, &stop, &mut |f| {
                // After the stop, a match cut where reading stopped is no token of the blob.
                if (!stop.get() || prints.holds(&f.fingerprint)) && introduced(&f.fingerprint) {
                    capped.offer(f, out);
                    stop.set(total.is_some() && capped.full());
                }
            })
            .map_err(|e| at(stream_error(e, file.new)))?;
            if let Some(total) = total {
                capped.left_out(total.saturating_sub(capped.seen()));
            }
            capped.finish(&origin);
        }
        let message = unit.message()?;
        if message.len() > WINDOW || !self.matcher.find(&message).is_empty() {
            let origin = Origin::given(COMMIT_MESSAGE, None).with_commit(unit.info()?);
            let unit = Unit { origin, content: Content::Bytes(&message) };
            self.scan_capped(unit, cache, out)
                .map_err(|source| Error::Read { path: COMMIT_MESSAGE.into(), source })?;
        }
        Ok(())
    }

    /// Scans a unit (a message) into `out` under the caps of `cache`.
    pub fn scan_capped(
        &self,
        unit: Unit<'_>,
        cache: &BlobCache,
        out: &mut Vec<Finding>,
    ) -> io::Result<()> {
        let origin = unit.origin.clone();
        let mut capped = Capped::new(cache);
        self.scan(unit, &mut |f| capped.offer(f, out))?;
        capped.finish(&origin);
        Ok(())
    }

    /// Scans a blob, whole or streamed: as text, or as bytes when it is binary (git's test on
    /// its first 8000 bytes); a large one in windows, ending after the window in which `stop`
    /// is set.
    fn scan_blob(
        &self,
        blob: Blob,
        origin: &Origin,
        stop: &Rc<Cell<bool>>,
        emit: &mut dyn FnMut(Finding),
    ) -> io::Result<()> {
        let (binary, whole): (bool, Box<dyn Read>) = match blob {
            Blob::Bytes(b) if b.len() <= WINDOW => {
                match is_binary(&b) {
                    true => self.scan_binary(&b, None, origin, emit),
                    false => self.scan_bytes(&b, origin, emit),
                }
                return Ok(());
            }
            Blob::Bytes(b) => (is_binary(&b), Box::new(io::Cursor::new(ArcBytes(b)))),
            Blob::Stream(mut r) => {
                let mut head = Vec::with_capacity(8000);
                (&mut r).take(8000).read_to_end(&mut head)?;
                (is_binary(&head), Box::new(io::Cursor::new(head).chain(r)))
            }
        };
        let whole = Until(whole, Rc::clone(stop));
        match binary {
            true => self.scan_binary_reader(whole, origin, emit),
            false => self.scan_reader(whole, origin, emit),
        }
    }

    /// Runs the matcher over `reader` in windows, handing `each` every match that starts in
    /// a window's reported part: memory stays bounded however large the input and however
    /// many matches it holds.
    fn find_windows(&self, reader: impl Read, each: &mut dyn FnMut(Match)) -> io::Result<()> {
        let mut windows = Windows::new(reader);
        while let Some(w) = windows.next()? {
            for m in self.matcher.find(w.bytes) {
                if w.report.contains(&m.span.start) {
                    each(m);
                }
            }
        }
        Ok(())
    }

    /// Keeps the findings whose token no version in `held` holds (a merge: what a merged
    /// branch already holds is not new).
    pub fn keep_new(&self, findings: &mut Vec<Finding>, held: &[&[u8]]) {
        if held.is_empty() || findings.is_empty() {
            return;
        }
        let prints: Vec<String> =
            held.iter().flat_map(|h| self.matcher.find(h)).map(|m| m.fingerprint).collect();
        findings.retain(|f| !prints.contains(&f.fingerprint));
    }
}
