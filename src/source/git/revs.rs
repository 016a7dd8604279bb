//! Revisions: which commits a history scan reads. The tips (every ref, or revisions in git's
//! syntax), then the commits reachable from some tips and not from others, walked with the
//! scan's own object reader ([`super::objects`]).
//!
//! A scan that cannot see part of the history must not say "clean", so what cannot be
//! resolved is an error naming the ref (and the commit): a ref whose file is garbage, a ref
//! or tag whose object is missing or damaged, a commit or parent that cannot be read. What
//! legitimately has no commits is left out: a symbolic ref to a branch not born yet, a ref
//! or tag of a tree or blob. Shallow boundaries and `info/grafts` cut the walk as they cut
//! git's; a missing commit with a replacement (`git replace`) is walked through it.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::path::Path;

use git2::{ErrorCode, ObjectType, Oid, Reference, ReferenceType, Repository};

use super::objects::{Objects, Pool};
use crate::sanitize::for_terminal;
use crate::{Error, Result};

/// The commits to scan: reachable from `include`, not from `exclude`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revisions {
    /// Tips to walk from.
    pub include: Vec<Oid>,
    /// Tips whose ancestry is left out.
    pub exclude: Vec<Oid>,
    /// Annotated tags whose messages are scanned: those the refs point at (a scan of all
    /// refs), those named among the included revisions, those a push sends.
    pub tags: Vec<Oid>,
}

/// Every commit that any ref (branches, tags, remote-tracking refs, notes, the stash,
/// replacements), `HEAD` or another worktree's `HEAD` points at, peeled to commits. Refs that
/// do not lead to a commit (a tag of a blob, a branch not born yet) are left out; a ref that
/// cannot be resolved is an error.
pub fn all_refs(repo: &Repository) -> Result<Revisions> {
    let mut include = Vec::new();
    let mut tags = Vec::new();
    let mut listed = HashSet::new();
    let listing =
        |e: git2::Error| Error::Invalid(format!("cannot list the references: {}", e.message()));
    let refs = repo.references().map_err(listing)?;
    for r in refs {
        let r = r.map_err(listing)?;
        listed.insert(r.name_bytes().to_vec());
        include.extend(ref_commit(repo, &r, &mut tags)?);
    }
    // libgit2 passes over a loose ref whose file it cannot parse, or reads the packed value
    // of that ref instead (git takes such a ref as broken): read the files on disk.
    for (name, path) in loose_refs(repo)? {
        let content = std::fs::read(&path).map_err(|source| Error::Read { path, source })?;
        let content = content.trim_ascii_end();
        let is_id = content.len() == 40 && content.iter().all(u8::is_ascii_hexdigit);
        if !is_id && !content.starts_with(b"ref: ") {
            return Err(ref_error(&name, "its file holds no object id"));
        }
        if !listed.contains(name.as_bytes()) {
            let r = repo.find_reference(&name).map_err(|e| ref_error(&name, e.message()))?;
            include.extend(ref_commit(repo, &r, &mut tags)?);
        }
    }
    let head = repo.find_reference("HEAD").map_err(|e| ref_error("HEAD", e.message()))?;
    include.extend(ref_commit(repo, &head, &mut tags)?);
    include.extend(worktree_heads(repo)?);
    include.sort();
    include.dedup();
    tags.sort();
    tags.dedup();
    Ok(Revisions { include, exclude: Vec::new(), tags })
}

fn ref_error(name: &str, reason: impl Into<String>) -> Error {
    Error::Ref { name: for_terminal(name).into_owned(), reason: reason.into() }
}

/// The commit a ref leads to: `None` for a symbolic ref to a ref that does not exist (a
/// branch not born yet) and for a ref that leads to a tree or blob. The annotated tags on the
/// way are added to `tags`.
fn ref_commit(repo: &Repository, r: &Reference<'_>, tags: &mut Vec<Oid>) -> Result<Option<Oid>> {
    let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
    let target = match r.kind() {
        Some(ReferenceType::Symbolic) => match r.resolve() {
            Ok(t) => t.target(),
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(ref_error(&name, e.message())),
        },
        _ => r.target(),
    };
    let id = target.ok_or_else(|| ref_error(&name, "it holds no object id"))?;
    peel_tags(repo, &name, id, tags)
}

/// Follows tags from `id` (what the ref or argument `name` names) to a commit: `None` for
/// a tree or blob (nothing to scan); an object or tag target that is missing or cannot be
/// read is an error naming `name` (for hooks: a pushed tag must not pass as "no commits").
pub fn peel(repo: &Repository, name: &str, id: Oid) -> Result<Option<Oid>> {
    peel_tags(repo, name, id, &mut Vec::new())
}

/// [`peel`], adding the annotated tags on the way to `tags`.
pub fn peel_tags(
    repo: &Repository,
    name: &str,
    mut id: Oid,
    tags: &mut Vec<Oid>,
) -> Result<Option<Oid>> {
    let mut via: Option<Oid> = None;
    for _ in 0..64 {
        // A damaged loose object is read here first: libgit2 inflated one such for ever.
        if let Err(e) =
            super::large::check_loose(&super::idx::object_dirs(&repo.path().join("objects")), id)
        {
            let what = match via {
                Some(tag) => format!("the tag {tag} points to object {id}"),
                None => format!("it points to object {id}"),
            };
            return Err(ref_error(name, format!("{what}, which cannot be read ({e})")));
        }
        let obj = repo.find_object(id, None).map_err(|e| {
            let what = match via {
                Some(tag) => format!("the tag {tag} points to object {id}"),
                None => format!("it points to object {id}"),
            };
            match e.code() {
                ErrorCode::NotFound => ref_error(name, format!("{what}, which is missing")),
                _ => ref_error(name, format!("{what}, which cannot be read ({})", e.message())),
            }
        })?;
        match obj.kind() {
            Some(ObjectType::Commit) => return Ok(Some(id)),
            Some(ObjectType::Tag) => {
                via = Some(id);
                tags.push(id);
                id = obj.as_tag().expect("a tag").target_id();
            }
            _ => return Ok(None),
        }
    }
    Err(ref_error(name, "its chain of tags is too long"))
}

/// The loose refs on disk (files under `refs/` in the common and the worktree's own git
/// folder): name and file. Lock files and invalid names are left out, as git leaves them.
fn loose_refs(repo: &Repository) -> Result<Vec<(String, std::path::PathBuf)>> {
    let mut out = Vec::new();
    let mut dirs = vec![repo.commondir().to_path_buf()];
    if repo.path() != repo.commondir() {
        dirs.push(repo.path().to_path_buf());
    }
    for git_dir in dirs {
        let mut stack = vec![git_dir.join("refs")];
        while let Some(dir) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(Error::Read { path: dir, source }),
            };
            for e in entries {
                let e = e.map_err(|source| Error::Read { path: dir.clone(), source })?;
                let path = e.path();
                let kind =
                    e.file_type().map_err(|source| Error::Read { path: path.clone(), source })?;
                if kind.is_dir() {
                    stack.push(path);
                } else if kind.is_file() {
                    let Ok(rel) = path.strip_prefix(&git_dir) else { continue };
                    let Some(name) = rel.to_str() else { continue };
                    if !name.ends_with(".lock") && Reference::is_valid_name(name) {
                        out.push((name.to_string(), path.clone()));
                    }
                }
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The commits that other worktrees' detached `HEAD`s point at (their attached `HEAD`s
/// name branches, which are refs already).
fn worktree_heads(repo: &Repository) -> Result<Vec<Oid>> {
    let dir = repo.commondir().join("worktrees");
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let path = e.path().join("HEAD");
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let text = text.trim();
        if text.starts_with("ref: ") {
            continue;
        }
        let name = format!("HEAD of the worktree {}", e.file_name().to_string_lossy());
        let id = Oid::from_str(text)
            .ok()
            .filter(|_| text.len() == 40)
            .ok_or_else(|| ref_error(&name, "its file holds no object id"))?;
        out.extend(peel(repo, &name, id)?);
    }
    Ok(out)
}

/// Resolves revision arguments in git's syntax: `A..B` (reachable from B, not from A),
/// `A...B` (reachable from either, not from both), `^A` (exclude A), and a single revision
/// (everything reachable from it).
pub fn parse_revisions(repo: &Repository, specs: &[String]) -> Result<Revisions> {
    let mut revs = Revisions::default();
    let mut tags = Vec::new();
    let mut commit_of = |spec: &str, included: bool| -> Result<Oid> {
        let shown = for_terminal(spec);
        let obj = match repo.revparse_single(spec) {
            Ok(obj) => obj,
            Err(e) => {
                // A ref that exists but does not resolve says why, as in a scan of all refs.
                match repo.resolve_reference_from_short_name(spec) {
                    Ok(r) => {
                        ref_commit(repo, &r, &mut Vec::new())?;
                    }
                    Err(r) if r.code() != ErrorCode::NotFound => {
                        return Err(ref_error(spec, r.message()))
                    }
                    Err(_) => {}
                }
                return Err(Error::Invalid(format!(
                    "unknown revision `{shown}` ({})",
                    e.message()
                )));
            }
        };
        let c = obj.peel(ObjectType::Commit).map_err(|e| {
            Error::Invalid(format!("revision `{shown}` is not a commit ({})", e.message()))
        })?;
        if included && obj.kind() == Some(ObjectType::Tag) {
            peel_tags(repo, spec, obj.id(), &mut tags)?;
        }
        Ok(c.id())
    };
    for spec in specs {
        if let Some(neg) = spec.strip_prefix('^') {
            revs.exclude.push(commit_of(neg, false)?);
        } else if let Some((a, b)) = spec.split_once("...") {
            let a = commit_of(if a.is_empty() { "HEAD" } else { a }, true)?;
            let b = commit_of(if b.is_empty() { "HEAD" } else { b }, true)?;
            revs.include.extend([a, b]);
            match repo.merge_bases(a, b) {
                Ok(bases) => revs.exclude.extend(bases.iter().copied()),
                Err(e) if e.code() == ErrorCode::NotFound => {} // no common ancestor
                Err(e) => {
                    return Err(Error::Git {
                        context: format!("cannot find where {a} and {b} meet"),
                        source: e,
                    })
                }
            }
        } else if let Some((a, b)) = spec.split_once("..") {
            revs.exclude.push(commit_of(if a.is_empty() { "HEAD" } else { a }, false)?);
            revs.include.push(commit_of(if b.is_empty() { "HEAD" } else { b }, true)?);
        } else {
            revs.include.push(commit_of(spec, true)?);
        }
    }
    tags.sort();
    tags.dedup();
    revs.tags = tags;
    if revs.include.is_empty() {
        // `^A` alone: git too shows nothing.
        return Ok(Revisions::default());
    }
    Ok(revs)
}

/// The commits reachable from `include` and not from `exclude`, each once, newest first (by
/// committer time), as git's walk finds them. A missing commit that has a replacement is
/// listed as its replacement. An interesting commit that cannot be read is an error naming it,
/// the child that points at it and a ref it is reachable from; on the excluded side, a commit
/// that cannot be read only stops the exclusion there (more is scanned, never less).
pub fn list_commits(pool: &Pool, include: &[Oid], exclude: &[Oid]) -> Result<Vec<Oid>> {
    if include.is_empty() {
        return Ok(Vec::new());
    }
    let objs = pool.take()?;
    let result = Walk::new(&objs).and_then(|mut w| w.run(include, exclude));
    pool.give_back(objs);
    result
}

/// Names a ref (or revision) that the commit of an object error is reachable from, when
/// the error has none: the first of `include` that reaches it (found again by libgit2, on
/// the error path only).
pub fn explain(repo: &Repository, include: &[Oid], e: Error) -> Error {
    let Some(commit) = e.commit() else { return e };
    for &tip in include {
        if tip == commit || repo.graph_descendant_of(tip, commit).unwrap_or(false) {
            return e.reachable_from(tip_name(repo, tip));
        }
    }
    e
}

/// A ref that points at commit `tip` (branches first, then tags, remote-tracking refs, other
/// refs, `HEAD`), or the commit itself.
fn tip_name(repo: &Repository, tip: Oid) -> String {
    let rank = |n: &str| match n {
        _ if n.starts_with("refs/heads/") => 0,
        _ if n.starts_with("refs/tags/") => 1,
        _ if n.starts_with("refs/remotes/") => 2,
        "HEAD" => 4,
        _ => 3,
    };
    let mut best: Option<String> = None;
    let head = repo.find_reference("HEAD").ok();
    let refs = repo.references().into_iter().flatten().flatten().chain(head);
    for r in refs {
        let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
        if r.peel(ObjectType::Commit).is_ok_and(|c| c.id() == tip)
            && best.as_deref().is_none_or(|b| rank(&name) < rank(b))
        {
            best = Some(name);
        }
    }
    best.map_or_else(|| format!("commit {tip}"), |b| for_terminal(&b).into_owned())
}

/// How many excluded commits the walk takes after only excluded ones are queued (git's).
const SLOP: usize = 5;

/// A commit in the walk.
struct Node {
    /// Reachable from an excluded tip.
    excluded: bool,
    /// Taken from the queue.
    done: bool,
    /// The id read: the commit's own, or its replacement's.
    read_as: Oid,
    /// The first included tip it was reached from (for messages).
    tip: Oid,
    parents: Vec<Oid>,
}

/// git's walk with exclusion: commits in a queue by committer time, newest first; a commit
/// taken from the queue passes its state (included or excluded) to its parents; the walk
/// ends when only excluded commits are queued.
struct Walk<'a> {
    objs: &'a Objects,
    nodes: HashMap<Oid, Node>,
    queue: BinaryHeap<(i64, Reverse<u64>, Oid)>,
    pushed: u64,
    /// Included commits in the queue.
    wanted: usize,
    /// Commits whose parents git cuts (shallow boundary: none; `info/grafts`: these).
    grafts: HashMap<Oid, Vec<Oid>>,
}

impl<'a> Walk<'a> {
    fn new(objs: &'a Objects) -> Result<Walk<'a>> {
        let dir = objs.repo().commondir();
        let mut grafts = HashMap::new();
        for line in read_lines(&dir.join("info/grafts"))? {
            let mut ids = line.split_ascii_whitespace().map(Oid::from_str);
            if let Some(Ok(id)) = ids.next() {
                grafts.insert(id, ids.filter_map(|p| p.ok()).collect());
            }
        }
        for line in read_lines(&dir.join("shallow"))? {
            if let Ok(id) = Oid::from_str(line.trim()) {
                grafts.insert(id, Vec::new());
            }
        }
        Ok(Walk {
            objs,
            nodes: HashMap::new(),
            queue: BinaryHeap::new(),
            pushed: 0,
            wanted: 0,
            grafts,
        })
    }

    fn run(&mut self, include: &[Oid], exclude: &[Oid]) -> Result<Vec<Oid>> {
        for &id in exclude {
            self.add(id, true, None, id)?;
        }
        for &id in include {
            self.add(id, false, None, id)?;
        }
        let mut order = Vec::new();
        // As git does, go on a few commits after only excluded ones are queued: a clock
        // that went backwards may have queued an ancestor of an excluded commit behind it.
        let mut slop = SLOP;
        while self.wanted > 0 || slop > 0 {
            if self.wanted == 0 {
                slop -= 1;
            } else {
                slop = SLOP;
            }
            let Some((_, _, id)) = self.queue.pop() else { break };
            let node = self.nodes.get_mut(&id).expect("queued commits are known");
            node.done = true;
            let (excluded, tip) = (node.excluded, node.tip);
            if !excluded {
                self.wanted -= 1;
                order.push(id);
            }
            for p in node.parents.clone() {
                self.add(p, excluded, Some(id), tip)?;
            }
        }
        // A commit taken as included and reached from an excluded one later (clock skew)
        // is left out after all; a replacement walked both as itself and in its original's
        // place is listed once.
        let mut seen = HashSet::new();
        Ok(order
            .into_iter()
            .filter_map(|id| {
                let n = &self.nodes[&id];
                (!n.excluded).then_some(n.read_as)
            })
            .filter(|id| seen.insert(*id))
            .collect())
    }

    /// Queues commit `id` (a tip, or a parent of `child`, reached from `tip`), or marks it
    /// excluded.
    fn add(&mut self, id: Oid, excluded: bool, child: Option<Oid>, tip: Oid) -> Result<()> {
        if self.nodes.contains_key(&id) {
            if excluded {
                self.exclude(id);
            }
            return Ok(());
        }
        let (read_as, time, parents) = match self.read(id, child) {
            Ok(parsed) => parsed,
            // What cannot be read on the excluded side only stops the exclusion there.
            Err(_) if excluded => (id, i64::MAX, Vec::new()),
            Err(e) => return Err(e.reachable_from(tip_name(self.objs.repo(), tip))),
        };
        self.nodes.insert(id, Node { excluded, done: false, read_as, tip, parents });
        self.pushed += 1;
        self.queue.push((time, Reverse(self.pushed), id));
        if !excluded {
            self.wanted += 1;
        }
        Ok(())
    }

    /// Reads commit `id`: the id read, its committer time and its parents.
    fn read(&self, id: Oid, child: Option<Oid>) -> Result<(Oid, i64, Vec<Oid>)> {
        let (read_as, raw) = self.objs.read_commit(id).map_err(|e| match child {
            Some(c) => e.in_commit(c),
            None => e,
        })?;
        let (time, parents) = parse_commit(&raw).ok_or_else(|| {
            let what = "it does not parse as a commit".to_string();
            Error::object(read_as, ObjectType::Commit, crate::error::Problem::Damaged(what))
        })?;
        let parents = match self.grafts.get(&id) {
            Some(g) => g.clone(),
            None => parents,
        };
        Ok((read_as, time, parents))
    }

    /// Marks `id` and, through commits already taken from the queue, their parents excluded.
    fn exclude(&mut self, id: Oid) {
        let mut stack = vec![id];
        while let Some(id) = stack.pop() {
            let Some(node) = self.nodes.get_mut(&id) else { continue };
            if node.excluded {
                continue;
            }
            node.excluded = true;
            if node.done {
                stack.extend(node.parents.iter().copied());
            } else {
                self.wanted -= 1;
            }
        }
    }
}

/// The lines of a small file of the git folder (none when it does not exist).
fn read_lines(path: &Path) -> Result<Vec<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(Error::Read { path: path.to_path_buf(), source }),
    }
}

/// A commit object's committer time (0 when it has none that parses, as for git) and
/// parents; `None` when it does not start with a tree line.
fn parse_commit(raw: &[u8]) -> Option<(i64, Vec<Oid>)> {
    let hex = |line: &[u8], key: &[u8]| -> Option<Oid> {
        let rest = line.strip_prefix(key)?;
        (rest.len() == 40).then_some(())?;
        Oid::from_str(std::str::from_utf8(rest).ok()?).ok()
    };
    let mut lines = raw.split(|&b| b == b'\n');
    hex(lines.next()?, b"tree ")?;
    let mut parents = Vec::new();
    let mut time = 0;
    for line in lines {
        if let Some(p) = hex(line, b"parent ") {
            parents.push(p);
        } else if let Some(rest) = line.strip_prefix(b"committer ") {
            let after = memchr::memrchr(b'>', rest).map_or(rest, |i| &rest[i + 1..]);
            let word = after.split(|&b| b == b' ').find(|w| !w.is_empty()).unwrap_or_default();
            time = std::str::from_utf8(word).ok().and_then(|w| w.parse().ok()).unwrap_or(0);
        } else if line.is_empty() {
            break;
        }
    }
    Some((time, parents))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::git::test_git::git;

    fn commit(d: &Path, file: &str, when: u64) -> Oid {
        std::fs::write(d.join(file), format!("{file} {when}\n")).unwrap();
        git(d, &["add", "-A"]);
        let date = format!("{} +0000", 1_600_000_000 + when);
        let out = crate::source::git::test_git::git_command(d)
            .env("GIT_COMMITTER_DATE", &date)
            .env("GIT_AUTHOR_DATE", &date)
            .args(["commit", "-q", "-m", file])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        Oid::from_str(git(d, &["rev-parse", "HEAD"]).trim()).unwrap()
    }

    fn rev_list(d: &Path, args: &[&str]) -> Vec<Oid> {
        let mut all = vec!["rev-list"];
        all.extend_from_slice(args);
        let mut ids: Vec<Oid> = git(d, &all).lines().map(|l| Oid::from_str(l).unwrap()).collect();
        ids.sort();
        ids
    }

    /// The walk lists what `git rev-list` lists, for ranges, merges and skewed clocks.
    #[test]
    fn the_walk_lists_what_git_lists() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        git(d, &["init", "-q", "-b", "main"]);
        let base = commit(d, "a", 1000);
        commit(d, "b", 2000);
        git(d, &["checkout", "-q", "-b", "side", &base.to_string()]);
        commit(d, "c", 1500);
        commit(d, "d", 500); // older than its parent: a skewed clock
        git(d, &["checkout", "-q", "main"]);
        git(d, &["merge", "-q", "--no-edit", "side"]);
        commit(d, "e", 3000);
        git(d, &["repack", "-adq"]);
        commit(d, "f", 4000); // loose
        let repo = Repository::open(d).unwrap();
        let pool = Pool::open(&repo).unwrap();
        let id = |spec: &str| Oid::from_str(git(d, &["rev-parse", spec]).trim()).unwrap();
        for (include, exclude) in [
            (vec!["main"], vec![]),
            (vec!["main"], vec!["side"]),
            (vec!["side"], vec!["main~2"]),
            (vec!["main", "side"], vec!["main~1"]),
            (vec!["side~1"], vec!["side"]),
        ] {
            let inc: Vec<Oid> = include.iter().map(|s| id(s)).collect();
            let exc: Vec<Oid> = exclude.iter().map(|s| id(s)).collect();
            let mut got = list_commits(&pool, &inc, &exc).unwrap();
            let n = got.len();
            got.sort();
            got.dedup();
            assert_eq!(got.len(), n, "each commit once");
            let mut args: Vec<String> = include.iter().map(|s| s.to_string()).collect();
            args.extend(exclude.iter().map(|s| format!("^{s}")));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            assert_eq!(got, rev_list(d, &args), "{include:?} ^{exclude:?}");
        }
    }

    #[test]
    fn refs_that_do_not_resolve_fail_and_those_without_commits_are_left_out() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        git(d, &["init", "-q", "-b", "main"]);
        let c = commit(d, "a", 1000);
        let blob = git(d, &["rev-parse", "HEAD:a"]).trim().to_string();
        git(d, &["tag", "-a", "-m", "a blob", "blob-tag", &blob]);
        git(d, &["update-ref", "refs/custom/tree", &format!("{c}^{{tree}}")]);
        git(d, &["symbolic-ref", "refs/heads/alias", "refs/heads/unborn"]);
        let repo = Repository::open(d).unwrap();
        assert_eq!(all_refs(&repo).unwrap().include, vec![c]);

        let refs = d.join(".git/refs/heads");
        for (content, expect) in [
            ("not an id\n", "refs/heads/broken"),
            ("1234567890123456789012345678901234567890\n", "which is missing"),
            ("", "refs/heads/broken"),
        ] {
            std::fs::write(refs.join("broken"), content).unwrap();
            let e = all_refs(&Repository::open(d).unwrap()).unwrap_err().to_string();
            assert!(e.contains("refs/heads/broken") && e.contains(expect), "{content:?}: {e}");
        }
    }

    #[test]
    fn another_worktrees_detached_head_is_a_tip() {
        let tmp = tempfile::tempdir().unwrap();
        let (d, wt) = (tmp.path().join("main"), tmp.path().join("wt"));
        std::fs::create_dir(&d).unwrap();
        git(&d, &["init", "-q", "-b", "main"]);
        let base = commit(&d, "a", 1);
        git(&d, &["worktree", "add", "-q", "--detach", wt.to_str().unwrap()]);
        let only_there = commit(&wt, "b", 2);
        let revs = all_refs(&Repository::open(&d).unwrap()).unwrap();
        assert_eq!(revs.include, {
            let mut v = vec![base, only_there];
            v.sort();
            v
        });
        // Its HEAD file garbage: an error naming the worktree.
        let head = d.join(".git/worktrees/wt/HEAD");
        std::fs::write(&head, "garbage\n").unwrap();
        let e = all_refs(&Repository::open(&d).unwrap()).unwrap_err().to_string();
        assert!(e.contains("HEAD of the worktree wt"), "{e}");
    }

    #[test]
    fn commits_parse_their_parents_and_committer_time() {
        let tree = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n";
        let parent = "parent 1111111111111111111111111111111111111111\n";
        let raw =
            format!("{tree}{parent}author A <a@b> 5 +0100\ncommitter C <c@d> 77 -0200\n\nmsg");
        let (time, parents) = parse_commit(raw.as_bytes()).unwrap();
        assert_eq!(time, 77);
        assert_eq!(parents.len(), 1);
        assert_eq!(parse_commit(b"garbage"), None);
        assert_eq!(parse_commit(format!("{tree}committer x\n").as_bytes()).unwrap().0, 0);
    }
}
