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
//!
//! A large blob is handed over as a stream ([`super::git::large`]), never whole. In a partial
//! clone ([`super::git::promisor`]), [`Plan::complete`] fetches the objects the scan will read
//! and the repository lacks, in batches; what still lacks (offline) is passed over and listed
//! ([`Plan::skipped`]), never taken as clean. Annotated tags named by the revisions have their
//! messages yielded as units too ([`Plan::tag_messages`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use git2::{Delta, DiffFindOptions, DiffOptions, FileMode, ObjectType, Oid, Repository};
use rayon::prelude::*;

use super::git::objects::{Objects, Pool};
use super::git::promisor::Promisor;
pub use super::git::revs::{all_refs, parse_revisions, Revisions};
use super::git::revs::{explain, list_commits};
use super::git::tree;
use crate::error::Problem;
use crate::unit::{Blob, CommitInfo, CommitUnit, Content, FileChange, Origin, Unit, TAG_MESSAGE};
use crate::{Error, Result};

/// The commits of a history or push scan, listed (in topological order, parents first) and
/// ready to be walked.
pub struct Plan {
    commits: Vec<Oid>,
    pool: Pool,
    grafted: bool,
    /// A ref each included tip is, to name in errors.
    repo: std::path::PathBuf,
    include: Vec<Oid>,
    /// Annotated tags whose messages are scanned.
    tags: Vec<Oid>,
    /// What a partial clone lacks.
    partial: Partial,
    /// File versions passed over, as they are met.
    skipped: Mutex<Vec<Skipped>>,
}

/// A partial clone's state: whether the repository is one, and the objects it still lacks
/// after fetching (passed over by the scan) with the reason.
#[derive(Default)]
struct Partial {
    is: bool,
    absent: HashSet<Oid>,
    why: String,
}

impl Partial {
    /// Whether `e` is an object missing from a partial clone (which the scan may pass over).
    fn lacks(&self, e: &Error) -> bool {
        self.is && matches!(e, Error::Object(o) if o.problem == Problem::Missing)
    }
}

/// Something the scan could not read and passed over (a partial clone that could not fetch
/// it): reports list it as skipped, and the scan does not end "clean".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The commit's rank in the plan's order.
    pub rank: usize,
    /// The commit.
    pub commit: Oid,
    /// The path in the commit's tree (`/`-separated).
    pub path: String,
    /// Why, naming the commit and the object.
    pub reason: String,
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
    let pool = Pool::open(repo)?;
    let commits = parents_first(&pool, list_commits(&pool, include, exclude)?)?;
    Ok(Plan {
        commits,
        pool,
        grafted: repo.is_shallow() || repo.commondir().join("info/grafts").exists(),
        repo: repo.path().to_path_buf(),
        include: include.to_vec(),
        tags: Vec::new(),
        partial: Partial::default(),
        skipped: Mutex::default(),
    })
}

/// Rounds of [`Plan::complete`]: a fetched folder can show more objects that lack.
const FETCH_ROUNDS: usize = 4;

/// The commits (listed newest first by git's walk) in topological order, parents first: a
/// commit whose clock is behind its parent's still comes after it.
fn parents_first(pool: &Pool, newest_first: Vec<Oid>) -> Result<Vec<Oid>> {
    let objs = pool.take()?;
    let index: HashMap<Oid, usize> =
        newest_first.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut parents: Vec<Vec<usize>> = Vec::with_capacity(newest_first.len());
    for id in &newest_first {
        let (_, raw) = objs.read_commit(*id)?;
        let ps = parse_commit(&raw).map(|(_, ps)| ps).unwrap_or_default();
        parents.push(ps.iter().filter_map(|p| index.get(p).copied()).collect());
    }
    pool.give_back(objs);
    Ok(topological(&parents).into_iter().map(|i| newest_first[i]).collect())
}

impl Plan {
    /// Scans the messages of annotated tags `tags` too (see [`Plan::tag_messages`]).
    pub fn with_tags(mut self, tags: &[Oid]) -> Plan {
        self.tags = tags.to_vec();
        self
    }

    /// In a partial clone: finds the objects the scan will read that the repository lacks
    /// (the changed files' new and old versions, a renamed file's source, folders), and
    /// fetches them from the promisor remote in batches. What still lacks (offline, fetching
    /// off, a remote that does not have it) is passed over by [`Plan::run`] and listed by
    /// [`Plan::skipped`]. Does nothing (and never touches the network) in a repository that
    /// is not a partial clone. `note` gets lines for standard error as they happen.
    pub fn complete(&mut self, note: &mut dyn FnMut(&str)) -> Result<()> {
        let repo = Repository::open(&self.repo).map_err(Error::git(format!(
            "cannot open the repository at {}",
            self.repo.display()
        )))?;
        let Some(promisor) = Promisor::detect(&repo)? else { return Ok(()) };
        self.partial.is = true;
        for _ in 0..FETCH_ROUNDS {
            let (blobs, trees) = self.lacking()?;
            let mut ids: Vec<Oid> = trees.iter().chain(&blobs).copied().collect();
            if ids.is_empty() {
                break;
            }
            ids.sort();
            let why = if !promisor.fetch {
                Some("fetching is off (GIT_NO_LAZY_FETCH)".to_string())
            } else if promisor.remotes.is_empty() {
                Some("no promisor remote is configured to fetch it from".to_string())
            } else {
                note(&format!(
                    "tokenguard: note: partial clone: fetching {} missing object(s) from {}",
                    ids.len(),
                    promisor.remotes.join(", ")
                ));
                match promisor.fetch(&ids) {
                    Ok(()) => None,
                    Err(e) => Some(format!("it could not be fetched ({e})")),
                }
            };
            if why.is_none() {
                // Map the packs just fetched.
                self.pool = Pool::open(&repo)?;
            }
            let objs = self.pool.take()?;
            let still: Vec<Oid> = ids.into_iter().filter(|id| !objs.has(*id)).collect();
            self.pool.give_back(objs);
            if !still.is_empty() {
                self.partial.why =
                    why.clone().unwrap_or_else(|| "the promisor remote did not send it".into());
                self.partial.absent.extend(still);
            }
            // Fetched folders may hold more that lacks: look again (not after a failure).
            if why.is_some() || trees.is_empty() {
                break;
            }
        }
        if !self.partial.absent.is_empty() {
            note(&format!(
                "tokenguard: note: partial clone: {} object(s) are not in the repository and \
                 are not scanned: {}",
                self.partial.absent.len(),
                self.partial.why
            ));
        }
        Ok(())
    }

    /// The blobs and folders that the scan would read and the repository lacks (not yet
    /// known to lack).
    fn lacking(&self) -> Result<(Vec<Oid>, Vec<Oid>)> {
        let found: Vec<(HashSet<Oid>, HashSet<Oid>)> = self
            .commits
            .par_chunks(CHUNK)
            .map(|chunk| -> Result<(HashSet<Oid>, HashSet<Oid>)> {
                let objs = self.pool.take()?;
                let (mut blobs, mut trees) = (HashSet::new(), HashSet::new());
                let result = chunk.iter().try_for_each(|id| {
                    let commit = Commit::read(&objs, *id, self.grafted, &self.partial)?;
                    trees.extend(commit.lacking_trees.iter().map(|(_, t, _)| *t));
                    let added = commit.files.iter().any(|f| f.old.is_none());
                    let renamed = commit.deleted_blobs.iter().filter(|_| added);
                    let versions =
                        commit.files.iter().flat_map(|f| f.old.into_iter().chain([f.new]));
                    for b in versions.chain(renamed.copied()) {
                        if !self.partial.absent.contains(&b) && !objs.has(b) {
                            blobs.insert(b);
                        }
                    }
                    Ok(())
                });
                self.pool.give_back(objs);
                result.map(|()| (blobs, trees))
            })
            .collect::<Result<_>>()?;
        let (mut blobs, mut trees) = (HashSet::new(), HashSet::new());
        for (b, t) in found {
            blobs.extend(b);
            trees.extend(t);
        }
        trees.retain(|t| !self.partial.absent.contains(t));
        Ok((blobs.into_iter().collect(), trees.into_iter().collect()))
    }

    /// What the scan passed over (in a partial clone that could not fetch it), in the plan's
    /// order: each file version with its commit and path.
    pub fn skipped(&self) -> Vec<Skipped> {
        let mut all = self.skipped.lock().expect("skipped lock").clone();
        all.sort_by(|a, b| (a.rank, &a.path).cmp(&(b.rank, &b.path)));
        all
    }

    /// The messages of the annotated tags given to [`Plan::with_tags`], each as the file
    /// `tag message` attributed to its tag: the tag object's id, the tagger (as author), the
    /// tagger's date, and `tag <name>` as subject. Ranked after every commit.
    pub fn tag_messages(&self) -> Result<Vec<TagMessage>> {
        let objs = self.pool.take()?;
        let result = self
            .tags
            .iter()
            .enumerate()
            .map(|(i, &id)| {
                let raw = objs.read(id, ObjectType::Tag)?;
                let info = Arc::new(tag_info(id, &raw));
                let origin = Origin::given(TAG_MESSAGE, None).with_commit(info);
                Ok(TagMessage {
                    origin,
                    message: commit_message(&raw).to_vec(),
                    rank: self.commits.len() + i,
                })
            })
            .collect();
        self.pool.give_back(objs);
        result
    }

    /// How many commits the walk visits.
    pub fn len(&self) -> usize {
        self.commits.len()
    }

    /// Whether there is no commit to visit.
    pub fn is_empty(&self) -> bool {
        self.commits.is_empty()
    }

    /// What the scan should say besides its findings: a missing commit read as its
    /// replacement (one line each).
    pub fn notes(&self) -> Vec<String> {
        self.pool.notes()
    }

    /// Visits every commit on every core: `visit` gets each commit as a [`CommitUnit`] and its
    /// rank in the plan's order (parents first), and fills its chunk's output. Returns the
    /// outputs in the plan's order.
    pub fn run<T: Send>(
        &self,
        visit: impl Fn(&dyn CommitUnit, usize, &mut Vec<T>) -> Result<()> + Sync,
    ) -> Result<Vec<T>> {
        let pool = &self.pool;
        let grafted = self.grafted;
        let parts: Vec<Vec<T>> = self
            .commits
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, chunk)| -> Result<Vec<T>> {
                let objs = pool.take()?;
                let mut out = Vec::new();
                let result = chunk.iter().enumerate().try_for_each(|(i, id)| {
                    let rank = c * CHUNK + i;
                    let mut unit = Commit::read(&objs, *id, grafted, &self.partial)?;
                    if self.partial.is {
                        self.pass_over_absent(&mut unit, rank);
                    }
                    visit(&unit, rank, &mut out).map_err(|e| e.in_commit(*id))
                });
                pool.give_back(objs);
                result.map(|()| out)
            })
            .collect::<Result<_>>()
            .map_err(|e| match git2::Repository::open(&self.repo) {
                Ok(repo) => explain(&repo, &self.include, e),
                Err(_) => e,
            })?;
        Ok(parts.into_iter().flatten().collect())
    }
}

/// Commits handed to a worker at once.
const CHUNK: usize = 32;

impl Plan {
    /// Takes out of `commit` what a partial clone lacks (new versions of files, folders),
    /// listing each as skipped.
    fn pass_over_absent(&self, commit: &mut Commit<'_>, rank: usize) {
        let why = &self.partial.why;
        let mut skipped = Vec::new();
        for (path, tree, new_side) in &commit.lacking_trees {
            if *new_side {
                let path = String::from_utf8_lossy(path).into_owned();
                let (path, shown) = match path.is_empty() {
                    true => ("/".to_string(), "the root folder".to_string()),
                    false => (format!("{path}/"), format!("the folder {path}")),
                };
                skipped.push(Skipped {
                    rank,
                    commit: commit.id,
                    path,
                    reason: format!(
                        "not scanned: {shown} (tree {tree}) of commit {}, and all under it, \
                         is not in this partial clone: {why}",
                        commit.id
                    ),
                });
            }
        }
        commit.files.retain(|f| {
            if !self.partial.absent.contains(&f.new) {
                return true;
            }
            skipped.push(Skipped {
                rank,
                commit: commit.id,
                path: f.path.clone(),
                reason: format!(
                    "not scanned: its version in commit {} (blob {}) is not in this partial \
                     clone: {why}",
                    commit.id, f.new
                ),
            });
            false
        });
        if !skipped.is_empty() {
            self.skipped.lock().expect("skipped lock").extend(skipped);
        }
    }
}

/// An annotated tag's message as a unit: the file `tag message`, attributed to the tag.
pub struct TagMessage {
    /// `tag message`, with the tag standing for a commit.
    pub origin: Origin,
    /// The message (whatever follows the tag's header, a signature included).
    pub message: Vec<u8>,
    /// Its rank in the plan's order (after every commit).
    pub rank: usize,
}

impl TagMessage {
    /// The message as a unit for the pipeline.
    pub fn unit(&self) -> Unit<'_> {
        Unit { origin: self.origin.clone(), content: Content::Bytes(&self.message) }
    }
}

/// What reports say of a tag: its object id as the commit, the tagger as author, the
/// tagger's date, and `tag <name>` as subject (a tag without a tagger, as very old ones are,
/// has neither author nor date).
fn tag_info(id: Oid, raw: &[u8]) -> CommitInfo {
    let header = &raw[..memchr::memmem::find(raw, b"\n\n").unwrap_or(raw.len())];
    let mut name = "";
    let mut tagger: Option<&[u8]> = None;
    for line in header.split(|&b| b == b'\n') {
        if let Some(n) = line.strip_prefix(b"tag ") {
            name = std::str::from_utf8(n).unwrap_or("");
        } else if let Some(t) = line.strip_prefix(b"tagger ") {
            tagger = Some(t);
        }
    }
    let (author, date, time) = match tagger.and_then(parse_ident) {
        Some((who, secs, offset)) => (who, iso8601(secs, offset), secs),
        None => (String::new(), String::new(), 0),
    };
    CommitInfo {
        commit: id.to_string(),
        author,
        date,
        subject: format!("tag {}", String::from_utf8_lossy(name.as_bytes())),
        time,
    }
}

/// An identity line's `Name <email>`, time and offset from UTC in minutes.
fn parse_ident(line: &[u8]) -> Option<(String, i64, i32)> {
    let close = memchr::memrchr(b'>', line)?;
    let who = String::from_utf8_lossy(&line[..=close]).into_owned();
    let mut words = std::str::from_utf8(&line[close + 1..]).ok()?.split_ascii_whitespace();
    let secs: i64 = words.next()?.parse().ok()?;
    let tz = words.next().unwrap_or("+0000");
    let (sign, digits) = match tz.as_bytes().first() {
        Some(b'-') => (-1, &tz[1..]),
        Some(b'+') => (1, &tz[1..]),
        _ => (1, tz),
    };
    let hhmm: i32 = digits.parse().unwrap_or(0);
    Some((who, secs, sign * (hhmm / 100 * 60 + hhmm % 100)))
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
    /// The blobs of the files it deleted (rename sources).
    deleted_blobs: Vec<Oid>,
    /// Folders a partial clone lacks: path (as far as known), tree, and whether it is on the
    /// commit's side (else the parent's, read as empty).
    lacking_trees: Vec<(Vec<u8>, Oid, bool)>,
    partial: &'a Partial,
    info: OnceLock<Arc<CommitInfo>>,
    renames: OnceLock<HashMap<String, Oid>>,
}

impl<'a> Commit<'a> {
    fn read(objs: &'a Objects, id: Oid, grafted: bool, partial: &'a Partial) -> Result<Commit<'a>> {
        let raw = objs.read(id, ObjectType::Commit).map_err(|e| e.in_commit(id))?;
        let (tree_id, mut parents) = parse_commit(&raw)
            .ok_or_else(|| Error::Invalid(format!("cannot parse commit {id}")))?;
        if grafted {
            let c = objs
                .repo()
                .find_commit(id)
                .map_err(Error::git(format!("cannot read commit {id}")))?;
            parents = c.parent_ids().collect();
        }
        // In a partial clone, a folder that lacks reads as empty and is noted: on the
        // commit's side its files are passed over (and listed), on the parent's side every
        // file under it counts as added (more is scanned, never less).
        let lacking = std::cell::RefCell::new(Vec::new());
        let read_tree = |t: Oid, path: &[u8], new_side: bool| match objs.read(t, ObjectType::Tree) {
            Err(e) if partial.lacks(&e) => {
                lacking.borrow_mut().push((path.to_vec(), t, new_side));
                Ok(Arc::new(Vec::new()))
            }
            other => other,
        };
        let base = match parents.first() {
            Some(&p) => {
                let raw = objs.read(p, ObjectType::Commit).map_err(|e| e.in_commit(id))?;
                let (t, _) = parse_commit(&raw)
                    .ok_or_else(|| Error::Invalid(format!("cannot parse commit {p}")))?;
                Some(read_tree(t, b"", false).map_err(|e| e.at_path(b"").in_commit(p))?)
            }
            None => None,
        };
        let tree = read_tree(tree_id, b"", true).map_err(|e| e.at_path(b"").in_commit(id))?;
        let mut changes = Changes::default();
        // A subtree is read for the commit's side or the parent's; both count as the
        // commit's here (a folder the parent had and the clone lacks is fetched with the rest).
        diff_trees(base.as_deref().map(Vec::as_slice), &tree, &mut changes, &|t, path| {
            read_tree(t, path, true)
        })
        .map_err(|e| e.in_commit(id))?;
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
            deleted_blobs: changes.deleted_blobs,
            lacking_trees: lacking.into_inner(),
            partial,
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
        let found = match renames(self.objs.repo(), base.as_ref(), &tree) {
            Ok(found) => found,
            // A partial clone that lacks a blob to compare: no renames (more is reported as
            // added, never less).
            Err(e) if self.partial.is && e.code() == git2::ErrorCode::NotFound => HashMap::new(),
            Err(e) => return Err(Error::git(format!("cannot find renames in commit {id}"))(e)),
        };
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

    fn blob(&self, id: Oid) -> Result<Blob> {
        self.objs.blob(id)
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
        // A partial clone may lack an old version: compared without it, its tokens count as
        // added here (more is reported, never less).
        if self.partial.is {
            olds.retain(|o| !self.partial.absent.contains(o) && self.objs.has(*o));
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

/// The nodes `0..parents.len()` (listed newest first; `parents[i]` are node indexes) in an
/// order where every node comes after its parents.
fn topological(parents: &[Vec<usize>]) -> Vec<usize> {
    // Depth first from the oldest, each commit after its parents (no recursion: a history is
    // a chain of thousands). A damaged or grafted history may hold a cycle: a parent already
    // being visited is passed over.
    const NEW: u8 = 0;
    const OPEN: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![NEW; parents.len()];
    let mut out = Vec::with_capacity(parents.len());
    for start in (0..parents.len()).rev() {
        if state[start] != NEW {
            continue;
        }
        state[start] = OPEN;
        let mut stack = vec![(start, 0usize)];
        while let Some((node, next)) = stack.pop() {
            match parents[node].get(next) {
                Some(&p) => {
                    stack.push((node, next + 1));
                    if state[p] == NEW {
                        state[p] = OPEN;
                        stack.push((p, 0));
                    }
                }
                None => {
                    state[node] = DONE;
                    out.push(node);
                }
            }
        }
    }
    out
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
    deleted_blobs: Vec<Oid>,
}

/// Compares two raw trees without reading any blob (see [`tree::diff`]); subtrees are read
/// with `read`.
fn diff_trees(
    old: Option<&[u8]>,
    new: &[u8],
    out: &mut Changes,
    read: &dyn Fn(Oid, &[u8]) -> Result<tree::Raw>,
) -> Result<()> {
    let mut read = |id: Oid, path: &[u8]| read(id, path);
    let is_file = |mode: u32| mode != tree::MODE_TREE && mode != tree::MODE_GITLINK;
    tree::diff_at(&mut read, old, Some(new), false, &mut Vec::new(), &mut |path, old, new| {
        let old_file = old.filter(|o| is_file(o.1)).map(|o| o.0);
        match new.filter(|n| n.1 != tree::MODE_GITLINK) {
            Some((id, _)) => {
                out.deleted |= old.is_some() && old_file.is_none();
                out.files.push((path.to_vec(), old_file, id));
            }
            None => {
                out.deleted |= old.is_some();
                out.deleted_blobs.extend(old_file);
            }
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
    fn parents_come_first_even_in_a_cycle() {
        // Newest first: 0 is a child of 1, 1 of 2; 3 is a merge of 0 and 2 listed oldest.
        let order = topological(&[vec![1], vec![2], vec![], vec![0, 2]]);
        let pos = |n: usize| order.iter().position(|&x| x == n).unwrap();
        assert_eq!(order.len(), 4);
        assert!(pos(2) < pos(1) && pos(1) < pos(0) && pos(0) < pos(3));
        // A damaged history whose commits are each other's parents: every node once.
        let mut cyclic = topological(&[vec![1], vec![0], vec![2]]);
        cyclic.sort();
        assert_eq!(cyclic, [0, 1, 2]);
    }

    #[test]
    fn iso8601_dates() {
        assert_eq!(iso8601(0, 0), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso8601(1_700_000_000, 60), "2023-11-14T23:13:20+01:00");
        assert_eq!(iso8601(951_782_400, -330), "2000-02-28T18:30:00-05:30");
        assert_eq!(iso8601(1_709_164_800, 0), "2024-02-29T00:00:00+00:00");
    }
}
