//! History: every commit of a set of revisions, each scanned for the tokens it introduced.
//!
//! The design aims at the floor of reading every object once:
//! - commits are split into chunks handed to rayon workers, each with its own repository
//!   handle (a `git2::Repository` is `Send` but not `Sync`) and its own pack reader
//!   (`super::git::pack`: objects read straight from the mapped packs without a lock, with a cache
//!   of recent objects per worker, so a tree read as a commit's tree is still there when it
//!   is read again as its child's parent tree; libgit2 reads what the pack reader does not
//!   know: loose objects, alternates, shallow parents);
//! - each commit's tree is diffed against its first parent's tree without content, trees and
//!   commits parsed in place;
//! - each distinct new blob is scanned once: a shared cache keeps, per blob id, only the
//!   fingerprints of the tokens it holds (nothing for the vast majority of clean blobs);
//! - only for a blob that holds tokens is the old side looked at (the rename source or the
//!   same path in the first parent; for a merge, every parent's version of the path), and
//!   the tokens the commit introduced are those its parents' versions do not hold;
//! - rename detection runs only for commits where an added file holds tokens.
//!
//! A token found again at the same path in later commits (cherry-picks, rebases, merges) is
//! one finding, attributed to the earliest commit, unless every occurrence is asked for.

use std::cmp::Ordering as Order;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use git2::{Commit, Delta, DiffFindOptions, DiffOptions, FileMode, ObjectType, Oid, Repository};
use rayon::prelude::*;

use super::git::objects::{Objects, Pool};
pub use super::git::revs::{all_refs, parse_revisions, Revisions};
use super::git::revs::{explain, list_commits};

use crate::finding::{CommitInfo, Finding, Findings};
use crate::scan::{Origin, Scanner};
use crate::{Error, Result};

/// How a history scan runs.
#[derive(Debug, Clone, Default)]
pub struct HistoryOptions {
    /// Report every commit that introduced a token at a path, not only the earliest.
    pub all_occurrences: bool,
    /// A progress bar to advance (its length is set to the number of commits; its message
    /// shows the findings so far). The caller decides where it draws, if anywhere.
    pub progress: Option<indicatif::ProgressBar>,
}

/// Scans the commits reachable from `include` and not from `exclude` (git's `include ^exclude`)
/// for the tokens each introduced, with `scanner`'s rules and allowlist.
///
/// Each finding carries its [`CommitInfo`] and the line and column in the new version of the
/// file (binary content: line 0 and a byte offset). A token introduced at the same path by
/// several commits is reported once, at the earliest commit (by commit time, then id), unless
/// `opts.all_occurrences`. Findings are sorted by commit time, then file and position.
/// This is the entry point for hooks that scan what is pushed or received.
pub fn scan_commits(
    repo: &Repository,
    include: &[Oid],
    exclude: &[Oid],
    scanner: &Scanner,
    opts: &HistoryOptions,
) -> Result<Findings> {
    // Objects are read by id from the repository's own store: re-hashing each one to check
    // it (libgit2's default; git itself does not when reading) would double the cost.
    git2::opts::strict_hash_verification(false);
    // libgit2's object cache (256 MiB by default) costs more than it saves here: each blob is
    // read once, and equal subtrees are skipped by id before being read. Off, the scan is
    // faster and peaks at about a third of the memory.
    git2::opts::enable_caching(false);
    let pool = Pool::open(repo)?;
    let commits = list_commits(&pool, include, exclude)?;
    if let Some(bar) = &opts.progress {
        bar.set_length(commits.len() as u64);
        bar.set_message("0 findings");
    }
    let ctx = Ctx {
        scanner,
        cache: BlobCache::default(),
        pool,
        grafted: repo.is_shallow() || repo.commondir().join("info/grafts").exists(),
        found: AtomicU64::new(0),
        progress: opts.progress.as_ref(),
    };
    const CHUNK: usize = 32;
    let parts: Vec<Vec<Occurrence>> = commits
        .par_chunks(CHUNK)
        .map(|chunk| -> Result<Vec<Occurrence>> {
            let handles = ctx.pool.take()?;
            let mut out = Vec::new();
            let result = chunk.iter().try_for_each(|id| {
                let n = out.len();
                scan_commit(&handles, *id, &ctx, &mut out).map_err(|e| e.in_commit(*id))?;
                if let Some(bar) = ctx.progress {
                    let added = (out.len() - n) as u64;
                    let total = ctx.found.fetch_add(added, Ordering::Relaxed) + added;
                    if added > 0 {
                        bar.set_message(format!("{total} findings"));
                    }
                    bar.inc(1);
                }
                Ok(())
            });
            ctx.pool.give_back(handles);
            result.map(|()| out)
        })
        .collect::<Result<_>>()
        .map_err(|e| explain(repo, include, e))?;
    if let Some(bar) = &opts.progress {
        bar.finish_and_clear();
    }
    let mut all: Vec<Occurrence> = parts.into_iter().flatten().collect();
    all.sort_by(|a, b| {
        (a.time, a.id, &a.finding.file, a.finding.line, a.finding.column, a.finding.offset).cmp(&(
            b.time,
            b.id,
            &b.finding.file,
            b.finding.line,
            b.finding.column,
            b.finding.offset,
        ))
    });
    let mut findings = Findings::default();
    let mut seen: HashSet<(bool, String, Arc<str>)> = HashSet::new();
    for occ in all {
        let f = occ.finding;
        if !opts.all_occurrences
            && !seen.insert((f.allowed_by.is_some(), f.fingerprint.clone(), f.file.clone()))
        {
            continue;
        }
        findings.push(f);
    }
    Ok(findings)
}

/// One token introduced by one commit.
struct Occurrence {
    time: i64,
    id: Oid,
    finding: Finding,
}

struct Ctx<'a> {
    scanner: &'a Scanner,
    cache: BlobCache,
    pool: Pool,
    /// Whether commits' parents may differ from what their objects say (a shallow clone's
    /// boundary, `info/grafts`): then libgit2, which knows, lists them.
    grafted: bool,
    found: AtomicU64,
    progress: Option<&'a indicatif::ProgressBar>,
}

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

type IdMap<V> = HashMap<Oid, V, BuildHasherDefault<IdHasher>>;

/// Fingerprints of the tokens a blob holds, sorted; `None` for a clean blob.
type Prints = Option<Arc<[String]>>;

const SHARDS: usize = 16;

/// Per blob id, the fingerprints of the tokens it holds. Never holds content.
struct BlobCache {
    shards: Vec<Mutex<IdMap<Prints>>>,
}

impl Default for BlobCache {
    fn default() -> Self {
        BlobCache { shards: (0..SHARDS).map(|_| Mutex::new(IdMap::default())).collect() }
    }
}

impl BlobCache {
    fn shard(&self, id: Oid) -> &Mutex<IdMap<Prints>> {
        &self.shards[id.as_bytes()[19] as usize % SHARDS]
    }

    /// The fingerprints of blob `id`, scanning it on first sight.
    fn prints(&self, objs: &Objects, id: Oid, scanner: &Scanner) -> Result<Prints> {
        if let Some(p) = self.shard(id).lock().expect("cache lock").get(&id) {
            return Ok(p.clone());
        }
        // Two workers may scan the same blob at once; both get the same answer.
        let blob = objs.read(id, ObjectType::Blob)?;
        let mut prints: Vec<String> =
            scanner.matcher.find(&blob).into_iter().map(|m| m.fingerprint).collect();
        prints.sort();
        prints.dedup();
        let p: Prints = if prints.is_empty() { None } else { Some(prints.into()) };
        self.shard(id).lock().expect("cache lock").insert(id, p.clone());
        Ok(p)
    }
}

/// A changed file of a commit whose new version holds tokens.
struct Candidate {
    path: String,
    new: Oid,
    old: Option<Oid>,
    prints: Arc<[String]>,
}

fn is_file(mode: FileMode) -> bool {
    matches!(mode, FileMode::Blob | FileMode::BlobExecutable | FileMode::Link)
}

fn scan_commit(objs: &Objects, id: Oid, ctx: &Ctx<'_>, out: &mut Vec<Occurrence>) -> Result<()> {
    let repo = objs.repo();
    let raw = objs.read(id, ObjectType::Commit)?;
    let (tree_id, mut parent_ids) =
        parse_commit(&raw).ok_or_else(|| Error::Invalid(format!("cannot parse commit {id}")))?;
    if ctx.grafted {
        let c = repo.find_commit(id).map_err(Error::git(format!("cannot read commit {id}")))?;
        parent_ids = c.parent_ids().collect();
    }
    let base = match parent_ids.first() {
        Some(&p) => {
            let raw = objs.read(p, ObjectType::Commit)?;
            let (t, _) = parse_commit(&raw)
                .ok_or_else(|| Error::Invalid(format!("cannot parse commit {p}")))?;
            Some(objs.read(t, ObjectType::Tree).map_err(|e| e.at_path(b"").in_commit(p))?)
        }
        None => None,
    };
    let tree = objs.read(tree_id, ObjectType::Tree).map_err(|e| e.at_path(b""))?;
    let mut changes = Changes::default();
    diff_trees(objs, base.as_deref().map(Vec::as_slice), &tree, &mut Vec::new(), &mut changes)?;
    let mut candidates = Vec::new();
    for (path, old, new) in changes.files {
        if let Some(prints) =
            ctx.cache.prints(objs, new, ctx.scanner).map_err(|e| e.at_path(&path))?
        {
            let path = String::from_utf8_lossy(&path).into_owned();
            candidates.push(Candidate { path, new, old, prints });
        }
    }
    if candidates.is_empty() {
        return Ok(());
    }
    // A commit with findings (rare): the rest goes through libgit2.
    let commit = repo.find_commit(id).map_err(Error::git(format!("cannot read commit {id}")))?;
    let tree = commit.tree().map_err(Error::git(format!("cannot read the tree of commit {id}")))?;
    let parents: Vec<Commit<'_>> = commit.parents().collect();
    let base = match parents.first() {
        Some(p) => Some(
            p.tree().map_err(Error::git(format!("cannot read the tree of commit {}", p.id())))?,
        ),
        None => None,
    };
    // An added file holding tokens may be a renamed one: let git find renames, and take the
    // source as its old version.
    if changes.deleted && candidates.iter().any(|c| c.old.is_none()) {
        let renames = renames(repo, base.as_ref(), &tree)
            .map_err(Error::git(format!("cannot find renames in commit {id}")))?;
        for c in candidates.iter_mut().filter(|c| c.old.is_none()) {
            c.old = renames.get(&c.path).copied();
        }
    }

    let mut info: Option<CommitInfo> = None;
    for c in candidates {
        let mut introduced: Vec<&String> = c.prints.iter().collect();
        let mut olds: Vec<Oid> = c.old.into_iter().collect();
        for p in parents.iter().skip(1) {
            let t = p.tree().map_err(Error::git(format!("cannot read commit {}", p.id())))?;
            if let Ok(e) = t.get_path(std::path::Path::new(&c.path)) {
                if e.kind() == Some(ObjectType::Blob) {
                    olds.push(e.id());
                }
            }
        }
        for old in olds {
            if old == c.new {
                introduced.clear();
                break;
            }
            let held = ctx.cache.prints(objs, old, ctx.scanner);
            if let Some(held) = held.map_err(|e| e.at_path(c.path.as_bytes()))? {
                introduced.retain(|f| held.binary_search(f).is_err());
            }
        }
        if introduced.is_empty() {
            continue;
        }
        let info = info.get_or_insert_with(|| commit_info(&commit, &ctx.scanner.matcher));
        let origin = Origin::new(c.path.clone()).with_commit(info.clone());
        let content =
            objs.read(c.new, ObjectType::Blob).map_err(|e| e.at_path(c.path.as_bytes()))?;
        let content = content.as_slice();
        let mut found = Findings::default();
        if is_binary(content) {
            ctx.scanner.scan_binary(content, None, &origin, &mut found);
        } else {
            ctx.scanner
                .scan_reader(content, &origin, &mut found)
                .expect("reading from memory does not fail");
        }
        let time = commit.time().seconds();
        for f in found.findings.into_iter().chain(found.allowed) {
            if introduced.contains(&&f.fingerprint) {
                out.push(Occurrence { time, id, finding: f });
            }
        }
    }
    Ok(())
}

/// A commit object's tree and parents (the `tree` and `parent` header lines).
fn parse_commit(raw: &[u8]) -> Option<(Oid, Vec<Oid>)> {
    let hex = |line: &[u8], key: &[u8]| -> Option<Oid> {
        let rest = line.strip_prefix(key)?;
        Oid::from_str(std::str::from_utf8(rest).ok()?).ok()
    };
    let mut lines = raw.split(|&b| b == b'\n');
    let tree = hex(lines.next()?, b"tree ")?;
    let mut parents = Vec::new();
    for line in lines {
        match hex(line, b"parent ") {
            Some(p) => parents.push(p),
            None => break,
        }
    }
    Some((tree, parents))
}

/// What a commit changed: files whose new version differs from the old one (path, old blob
/// if the path held a file, new blob), and whether anything was deleted.
#[derive(Default)]
struct Changes {
    files: Vec<(Vec<u8>, Option<Oid>, Oid)>,
    deleted: bool,
}

/// Compares two raw trees without reading any blob, skipping subtrees with equal ids.
fn diff_trees(
    objs: &Objects,
    old: Option<&[u8]>,
    new: &[u8],
    prefix: &mut Vec<u8>,
    out: &mut Changes,
) -> Result<()> {
    let mut olds = Entries(old.unwrap_or_default()).peekable();
    let mut news = Entries(new).peekable();
    loop {
        let order = match (olds.peek(), news.peek()) {
            (Some(o), Some(n)) => tree_order(o, n),
            (Some(_), None) => Order::Less,
            (None, Some(_)) => Order::Greater,
            (None, None) => break,
        };
        match order {
            Order::Less => {
                out.deleted = true;
                olds.next();
            }
            Order::Greater => {
                let n = news.next().expect("peeked");
                added_or_changed(objs, None, &n, prefix, out)?;
            }
            Order::Equal => {
                let (o, n) = (olds.next().expect("peeked"), news.next().expect("peeked"));
                if o.id != n.id || o.mode != n.mode {
                    added_or_changed(objs, Some(&o), &n, prefix, out)?;
                }
            }
        }
    }
    Ok(())
}

/// A tree entry: name, id, and mode (normalized as git and libgit2 read it).
struct Entry<'t> {
    name: &'t [u8],
    id: Oid,
    mode: i32,
}

const MODE_TREE: i32 = 0o040000;
const MODE_COMMIT: i32 = 0o160000;

/// The entries of a raw tree (`<octal mode> <name>\0<20-byte id>`, repeated). A damaged
/// tree ends early.
struct Entries<'t>(&'t [u8]);

impl<'t> Iterator for Entries<'t> {
    type Item = Entry<'t>;

    fn next(&mut self) -> Option<Entry<'t>> {
        let data = self.0;
        let space = memchr::memchr(b' ', data)?;
        let nul = space + 1 + memchr::memchr(0, &data[space + 1..])?;
        let id = Oid::from_bytes(data.get(nul + 1..nul + 21)?).ok()?;
        let mut mode = 0i32;
        for &d in &data[..space] {
            if !(b'0'..=b'7').contains(&d) || mode > 0o7777777 {
                return None;
            }
            mode = mode * 8 + i32::from(d - b'0');
        }
        self.0 = &data[nul + 21..];
        Some(Entry { name: &data[space + 1..nul], id, mode: normalize_mode(mode) })
    }
}

/// Git's reading of a tree entry's mode: any regular file is 100644 or 100755.
fn normalize_mode(mode: i32) -> i32 {
    match mode & 0o170000 {
        0o100000 if mode & 0o111 != 0 => 0o100755,
        0o100000 => 0o100644,
        0o040000 => MODE_TREE,
        0o120000 | 0o160000 => mode & 0o170000,
        _ => mode,
    }
}

/// Git's tree order: names compared as bytes, a tree's name as if it ended with `/`.
fn tree_order(a: &Entry<'_>, b: &Entry<'_>) -> Order {
    let n = a.name.len().min(b.name.len());
    match a.name[..n].cmp(&b.name[..n]) {
        Order::Equal => {}
        other => return other,
    }
    let next = |e: &Entry<'_>| match e.name.get(n) {
        Some(&c) => c,
        None if e.mode == MODE_TREE => b'/',
        None => 0,
    };
    next(a).cmp(&next(b))
}

fn added_or_changed(
    objs: &Objects,
    old: Option<&Entry<'_>>,
    new: &Entry<'_>,
    prefix: &mut Vec<u8>,
    out: &mut Changes,
) -> Result<()> {
    let len = prefix.len();
    prefix.extend_from_slice(new.name);
    if new.mode == MODE_TREE {
        let sub = objs.read(new.id, ObjectType::Tree).map_err(|e| e.at_path(prefix))?;
        let old_sub = match old {
            Some(o) if o.mode == MODE_TREE => {
                Some(objs.read(o.id, ObjectType::Tree).map_err(|e| e.at_path(prefix))?)
            }
            _ => None,
        };
        prefix.push(b'/');
        diff_trees(objs, old_sub.as_deref().map(Vec::as_slice), &sub, prefix, out)?;
    } else if new.mode != MODE_COMMIT {
        let old_file = old.filter(|o| o.mode != MODE_TREE && o.mode != MODE_COMMIT);
        if old.is_some() && old_file.is_none() {
            out.deleted = true;
        }
        out.files.push((prefix.clone(), old_file.map(|o| o.id), new.id));
    }
    prefix.truncate(len);
    Ok(())
}

/// For a commit with added and deleted files: added path -> blob it was renamed from.
fn renames(
    repo: &Repository,
    old: Option<&git2::Tree<'_>>,
    new: &git2::Tree<'_>,
) -> std::result::Result<HashMap<String, Oid>, git2::Error> {
    let mut dopts = DiffOptions::new();
    dopts.ignore_submodules(true);
    let mut diff = repo.diff_tree_to_tree(old, Some(new), Some(&mut dopts))?;
    let mut fopts = DiffFindOptions::new();
    fopts.renames(true);
    diff.find_similar(Some(&mut fopts))?;
    let mut map = HashMap::new();
    for d in diff.deltas() {
        if d.status() == Delta::Renamed && is_file(d.old_file().mode()) {
            if let Some(p) = d.new_file().path_bytes() {
                map.insert(String::from_utf8_lossy(p).into_owned(), d.old_file().id());
            }
        }
    }
    Ok(map)
}

/// Git's own test: a NUL byte in the first 8000 bytes.
fn is_binary(content: &[u8]) -> bool {
    memchr::memchr(0, &content[..content.len().min(8000)]).is_some()
}

/// What reports say of a commit. Its subject and author are text from the repository: a
/// token written there (`git commit -m "use dt0c01...."`) is masked like any other.
fn commit_info(c: &Commit<'_>, matcher: &crate::matcher::Matcher) -> CommitInfo {
    let a = c.author();
    let name = String::from_utf8_lossy(a.name_bytes());
    let email = String::from_utf8_lossy(a.email_bytes());
    let subject = c
        .message_bytes()
        .split(|&b| b == b'\n')
        .find(|l| !l.iter().all(u8::is_ascii_whitespace))
        .map(|l| String::from_utf8_lossy(l).trim_end().to_string())
        .unwrap_or_default();
    let masked = |text: String| crate::mask::mask_text(matcher, &text);
    CommitInfo {
        commit: c.id().to_string(),
        author: masked(format!("{name} <{email}>")),
        date: iso8601(a.when().seconds(), a.when().offset_minutes()),
        subject: masked(subject),
    }
}

/// `YYYY-MM-DDTHH:MM:SS+hh:mm` for a Unix time and an offset from UTC in minutes.
pub fn iso8601(secs: i64, offset_minutes: i32) -> String {
    let local = secs + i64::from(offset_minutes) * 60;
    let days = local.div_euclid(86_400);
    let rem = local.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let off = offset_minutes.unsigned_abs();
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        off / 60,
        off % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_dates() {
        assert_eq!(iso8601(0, 0), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso8601(1_700_000_000, 60), "2023-11-14T23:13:20+01:00");
        assert_eq!(iso8601(951_782_400, -330), "2000-02-28T18:30:00-05:30");
        assert_eq!(iso8601(1_709_164_800, 0), "2024-02-29T00:00:00+00:00");
    }
}
