//! History: every commit of a set of revisions, yielded as a [`CommitUnit`] for the pipeline
//! to find the tokens it introduced (see `pipeline::changes`). This module never scans.
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
//! - the old versions of a file (the rename source or the same path in the first parent; for
//!   a merge, every parent's version of the path) are looked up only when the pipeline asks,
//!   which it does only for a blob that holds tokens; rename detection runs only then.
//!
//! Commits are listed parents first (topological order), so that a report "oldest first"
//! never puts a child before its parent when their times tie.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use git2::{Delta, DiffFindOptions, DiffOptions, FileMode, ObjectType, Oid, Repository};
use rayon::prelude::*;

use super::git::objects::{Objects, Pool};
use super::git::pack::Packs;
use super::git::tree;
use crate::unit::{CommitInfo, CommitUnit, FileChange};
use crate::{Error, Result};

/// The commits to scan: reachable from `include`, not from `exclude`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revisions {
    /// Tips to walk from.
    pub include: Vec<Oid>,
    /// Tips whose ancestry is left out.
    pub exclude: Vec<Oid>,
}

/// Every commit that any ref (branches, tags, remote-tracking refs, notes, the stash) or a
/// detached `HEAD` points at, peeled to commits. Refs that do not lead to a commit (a tag of
/// a blob) are left out.
pub fn all_refs(repo: &Repository) -> Result<Revisions> {
    let mut include = Vec::new();
    let refs = repo.references().map_err(Error::git("cannot list the references"))?;
    for r in refs {
        let r = r.map_err(Error::git("cannot read a reference"))?;
        if let Ok(c) = r.peel(ObjectType::Commit) {
            include.push(c.id());
        }
    }
    if let Ok(head) = repo.head() {
        if let Ok(c) = head.peel(ObjectType::Commit) {
            include.push(c.id());
        }
    }
    include.sort();
    include.dedup();
    Ok(Revisions { include, exclude: Vec::new() })
}

/// Resolves revision arguments in git's syntax: `A..B` (reachable from B, not from A),
/// `A...B` (reachable from either, not from both), `^A` (exclude A), and a single revision
/// (everything reachable from it).
pub fn parse_revisions(repo: &Repository, specs: &[String]) -> Result<Revisions> {
    let mut revs = Revisions::default();
    let commit_of = |spec: &str| -> Result<Oid> {
        let obj = repo.revparse_single(spec).map_err(Error::git(format!(
            "unknown revision `{}`",
            crate::sanitize::for_terminal(spec)
        )))?;
        let c = obj.peel(ObjectType::Commit).map_err(Error::git(format!(
            "revision `{}` is not a commit",
            crate::sanitize::for_terminal(spec)
        )))?;
        Ok(c.id())
    };
    for spec in specs {
        if let Some(neg) = spec.strip_prefix('^') {
            revs.exclude.push(commit_of(neg)?);
        } else if let Some((a, b)) = spec.split_once("...") {
            let a = commit_of(if a.is_empty() { "HEAD" } else { a })?;
            let b = commit_of(if b.is_empty() { "HEAD" } else { b })?;
            revs.include.extend([a, b]);
            if let Ok(bases) = repo.merge_bases(a, b) {
                revs.exclude.extend(bases.iter().copied());
            }
        } else if let Some((a, b)) = spec.split_once("..") {
            revs.exclude.push(commit_of(if a.is_empty() { "HEAD" } else { a })?);
            revs.include.push(commit_of(if b.is_empty() { "HEAD" } else { b })?);
        } else {
            revs.include.push(commit_of(spec)?);
        }
    }
    if revs.include.is_empty() {
        // `^A` alone: git too shows nothing.
        return Ok(Revisions::default());
    }
    Ok(revs)
}

/// The commits reachable from `include` and not from `exclude`, each once.
pub fn list_commits(repo: &Repository, include: &[Oid], exclude: &[Oid]) -> Result<Vec<Oid>> {
    if include.is_empty() {
        return Ok(Vec::new());
    }
    let mut walk = repo.revwalk().map_err(Error::git("cannot walk the history"))?;
    // Parents before children: the order reports keep when commit times tie.
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)
        .map_err(Error::git("cannot walk the history"))?;
    for id in include {
        walk.push(*id).map_err(Error::git(format!("cannot walk from commit {id}")))?;
    }
    for id in exclude {
        walk.hide(*id).map_err(Error::git(format!("cannot hide commit {id}")))?;
    }
    walk.map(|r| r.map_err(Error::git("cannot walk the history"))).collect()
}

/// The commits of a history or push scan, listed (in topological order, parents first) and
/// ready to be walked.
pub struct Plan {
    commits: Vec<Oid>,
    path: std::path::PathBuf,
    packs: Packs,
    grafted: bool,
}

/// Lists the commits reachable from `include` and not from `exclude` (git's
/// `include ^exclude`), parents before children.
pub fn plan(repo: &Repository, include: &[Oid], exclude: &[Oid]) -> Result<Plan> {
    // Objects are read by id from the repository's own store: re-hashing each one to check
    // it (libgit2's default; git itself does not when reading) would double the cost.
    git2::opts::strict_hash_verification(false);
    // libgit2's object cache (256 MiB by default) costs more than it saves here: each blob is
    // read once, and equal subtrees are skipped by id before being read. Off, the scan is
    // faster and peaks at about a third of the memory.
    git2::opts::enable_caching(false);
    let commits = list_commits(repo, include, exclude)?;
    Ok(Plan {
        commits,
        path: repo.path().to_path_buf(),
        packs: Packs::open(&repo.commondir().join("objects")),
        grafted: repo.is_shallow() || repo.commondir().join("info/grafts").exists(),
    })
}

impl Plan {
    /// How many commits the walk visits.
    pub fn len(&self) -> usize {
        self.commits.len()
    }

    /// Whether there is no commit to visit.
    pub fn is_empty(&self) -> bool {
        self.commits.is_empty()
    }

    /// Visits every commit on every core: `visit` gets each commit as a [`CommitUnit`] and its
    /// rank in the plan's order (parents first), and fills its chunk's output. Returns the
    /// outputs in the plan's order.
    pub fn run<T: Send>(
        self,
        visit: impl Fn(&dyn CommitUnit, usize, &mut Vec<T>) -> Result<()> + Sync,
    ) -> Result<Vec<T>> {
        const CHUNK: usize = 32;
        let pool = Pool::new(self.path.clone(), self.packs);
        let grafted = self.grafted;
        let parts: Vec<Vec<T>> = self
            .commits
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, chunk)| -> Result<Vec<T>> {
                let objs = pool.take()?;
                let mut out = Vec::new();
                let result = chunk.iter().enumerate().try_for_each(|(i, id)| {
                    let unit = Commit::read(&objs, *id, grafted)?;
                    visit(&unit, c * CHUNK + i, &mut out)
                });
                pool.give_back(objs);
                result.map(|()| out)
            })
            .collect::<Result<_>>()?;
        Ok(parts.into_iter().flatten().collect())
    }
}

/// One commit as the pipeline sees it: its changed files, found by comparing its tree with
/// its first parent's without reading any blob; everything else read on demand.
struct Commit<'a> {
    objs: &'a Objects,
    id: Oid,
    parents: Vec<Oid>,
    files: Vec<FileChange>,
    /// Whether the commit deleted something (an added file may then be a renamed one).
    deleted: bool,
    info: OnceLock<Arc<CommitInfo>>,
    renames: OnceLock<HashMap<String, Oid>>,
}

impl<'a> Commit<'a> {
    fn read(objs: &'a Objects, id: Oid, grafted: bool) -> Result<Commit<'a>> {
        let raw = objs.read(id, ObjectType::Commit)?;
        let (tree_id, mut parents) = parse_commit(&raw)
            .ok_or_else(|| Error::Invalid(format!("cannot parse commit {id}")))?;
        if grafted {
            let c = objs
                .repo()
                .find_commit(id)
                .map_err(Error::git(format!("cannot read commit {id}")))?;
            parents = c.parent_ids().collect();
        }
        let base = match parents.first() {
            Some(&p) => {
                let raw = objs.read(p, ObjectType::Commit)?;
                let (t, _) = parse_commit(&raw)
                    .ok_or_else(|| Error::Invalid(format!("cannot parse commit {p}")))?;
                Some(objs.read(t, ObjectType::Tree)?)
            }
            None => None,
        };
        let tree = objs.read(tree_id, ObjectType::Tree)?;
        let mut changes = Changes::default();
        diff_trees(objs, base.as_deref().map(Vec::as_slice), &tree, &mut changes)?;
        let files = changes
            .files
            .into_iter()
            .map(|(path, old, new)| FileChange {
                path: String::from_utf8_lossy(&path).into_owned(),
                new,
                old,
            })
            .collect();
        Ok(Commit {
            objs,
            id,
            parents,
            files,
            deleted: changes.deleted,
            info: OnceLock::new(),
            renames: OnceLock::new(),
        })
    }

    fn git_commit(&self) -> Result<git2::Commit<'a>> {
        self.objs
            .repo()
            .find_commit(self.id)
            .map_err(Error::git(format!("cannot read commit {}", self.id)))
    }

    /// Added path -> blob it was renamed from (git's rename detection, run once per commit).
    fn renames(&self) -> Result<&HashMap<String, Oid>> {
        if let Some(r) = self.renames.get() {
            return Ok(r);
        }
        let commit = self.git_commit()?;
        let id = self.id;
        let tree =
            commit.tree().map_err(Error::git(format!("cannot read the tree of commit {id}")))?;
        let base = match commit.parents().next() {
            Some(p) => Some(
                p.tree()
                    .map_err(Error::git(format!("cannot read the tree of commit {}", p.id())))?,
            ),
            None => None,
        };
        let found = renames(self.objs.repo(), base.as_ref(), &tree)
            .map_err(Error::git(format!("cannot find renames in commit {id}")))?;
        Ok(self.renames.get_or_init(|| found))
    }
}

impl CommitUnit for Commit<'_> {
    fn id(&self) -> Oid {
        self.id
    }

    fn files(&self) -> &[FileChange] {
        &self.files
    }

    fn blob(&self, id: Oid) -> Result<Arc<Vec<u8>>> {
        self.objs.read(id, ObjectType::Blob)
    }

    fn olds(&self, i: usize) -> Result<Vec<Oid>> {
        let file = &self.files[i];
        let mut olds: Vec<Oid> = file.old.into_iter().collect();
        // An added file may be a renamed one: take the rename source as its old version.
        if file.old.is_none() && self.deleted {
            olds.extend(self.renames()?.get(&file.path).copied());
        }
        // A merge: every other parent's version of the path.
        if self.parents.len() > 1 {
            let commit = self.git_commit()?;
            for p in commit.parents().skip(1) {
                let t = p.tree().map_err(Error::git(format!("cannot read commit {}", p.id())))?;
                if let Ok(e) = t.get_path(std::path::Path::new(&file.path)) {
                    if e.kind() == Some(ObjectType::Blob) {
                        olds.push(e.id());
                    }
                }
            }
        }
        Ok(olds)
    }

    fn info(&self) -> Result<Arc<CommitInfo>> {
        if let Some(info) = self.info.get() {
            return Ok(Arc::clone(info));
        }
        let info = Arc::new(commit_info(&self.git_commit()?));
        Ok(Arc::clone(self.info.get_or_init(|| info)))
    }

    fn message(&self) -> Result<Vec<u8>> {
        let raw = self.objs.read(self.id, ObjectType::Commit)?;
        Ok(commit_message(&raw).to_vec())
    }
}

/// The message of a raw commit (or tag) object: what follows the first blank line.
pub fn commit_message(raw: &[u8]) -> &[u8] {
    memchr::memmem::find(raw, b"\n\n").map_or(&[][..], |p| &raw[p + 2..])
}

fn is_file(mode: FileMode) -> bool {
    matches!(mode, FileMode::Blob | FileMode::BlobExecutable | FileMode::Link)
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

/// Compares two raw trees without reading any blob (see [`tree::diff`]).
fn diff_trees(objs: &Objects, old: Option<&[u8]>, new: &[u8], out: &mut Changes) -> Result<()> {
    let mut read = |id: Oid| objs.read(id, ObjectType::Tree);
    let is_file = |mode: u32| mode != tree::MODE_TREE && mode != tree::MODE_GITLINK;
    tree::diff(&mut read, old, Some(new), false, &mut Vec::new(), &mut |path, old, new| {
        let old_file = old.filter(|o| is_file(o.1)).map(|o| o.0);
        match new.filter(|n| n.1 != tree::MODE_GITLINK) {
            Some((id, _)) => {
                out.deleted |= old.is_some() && old_file.is_none();
                out.files.push((path.to_vec(), old_file, id));
            }
            None => out.deleted |= old.is_some(),
        }
        Ok(())
    })
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

/// What reports say of a commit. Its subject and author are text from the repository,
/// printed through the masking writer like all output.
fn commit_info(c: &git2::Commit<'_>) -> CommitInfo {
    let a = c.author();
    let name = String::from_utf8_lossy(a.name_bytes());
    let email = String::from_utf8_lossy(a.email_bytes());
    let subject = c
        .message_bytes()
        .split(|&b| b == b'\n')
        .find(|l| !l.iter().all(u8::is_ascii_whitespace))
        .map(|l| String::from_utf8_lossy(l).trim_end().to_string())
        .unwrap_or_default();
    CommitInfo {
        commit: c.id().to_string(),
        author: format!("{name} <{email}>"),
        date: iso8601(a.when().seconds(), a.when().offset_minutes()),
        subject,
        time: c.time().seconds(),
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
