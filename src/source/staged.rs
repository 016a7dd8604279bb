//! The staged diff: what the next commit adds. The diff goes from HEAD's tree (the empty tree
//! on an unborn branch) to the index that git hands the hook (`GIT_INDEX_FILE`), with rename
//! and copy detection, and only its added lines are scanned, each with its line number in the
//! new file. Binary blobs are scanned as bytes against their old version; symlinks by their
//! link text; submodule pointers are skipped. When the commit concludes a merge (`MERGE_HEAD`),
//! a token counts only if it is new relative to every parent, so that a token that a merged
//! branch already holds does not block the merge.

use std::collections::HashSet;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use git2::{
    Delta, DiffFindOptions, DiffOptions, FileMode, Index, IndexEntry, IndexTime, ObjectType, Oid,
    Patch, Repository, Tree,
};

use super::git::index::{CacheTree, IndexFile, SPARSE_DIR};
use super::git::tree;
use crate::unit::{is_binary, strip_eol, AddedLines, Content, Origin, Unit};
use crate::{Error, Result};

/// Lines of context kept around each added line: what gives a keyed value on an added line
/// its key on an unchanged line (`- name: DT_API_TOKEN` above `value: ...`), an AWS key id
/// on an added line its secret on an unchanged one, and an added `BEGIN ... PRIVATE KEY`
/// line the key block under it (the longest rule window, 16 KiB, is 256 lines of 64
/// columns). Only findings on added lines are reported; context lines are only read.
const CONTEXT_LINES: u32 = 256;

/// What the next commit adds, file by file (see [`read`]).
pub struct Staged<'r> {
    /// The files to scan, in git's diff order.
    pub files: Vec<StagedFile<'r>>,
    /// Files named on the command line that were skipped, with the reason.
    pub skipped: Vec<(String, String)>,
    /// Whether some file named on the command line had no staged change and is scanned
    /// whole from the work tree (`pre-commit run --all-files`).
    pub whole_files: bool,
}

/// One file of the staged changes.
pub struct StagedFile<'r> {
    origin: Origin,
    content: Owned<'r>,
    /// The merged commits' versions of the path: a token they hold is not new.
    held: Vec<git2::Blob<'r>>,
}

/// The content of a staged file, owned.
enum Owned<'r> {
    Added(AddedLines),
    Binary(git2::Blob<'r>, Option<git2::Blob<'r>>),
    /// A large new file: every line added, read from the blob in windows.
    Whole(git2::Blob<'r>),
    File(std::fs::File),
}

impl StagedFile<'_> {
    /// The unit to scan.
    pub fn unit(&self) -> Unit<'_> {
        let content = match &self.content {
            Owned::Added(added) => Content::Added(added),
            Owned::Binary(new, old) => {
                Content::Binary { new: new.content(), old: old.as_ref().map(|b| b.content()) }
            }
            Owned::Whole(blob) => Content::Bytes(blob.content()),
            Owned::File(file) => match file.try_clone() {
                Ok(f) => Content::File(f),
                Err(_) => Content::Bytes(&[]),
            },
        };
        Unit { origin: self.origin.clone(), content }
    }

    /// The merged commits' versions of the file (empty outside a merge).
    pub fn held(&self) -> Vec<&[u8]> {
        self.held.iter().map(|b| b.content()).collect()
    }
}

/// What the next commit adds. With `files` (paths as given, relative to the current folder),
/// only those files: the added lines of their staged diff when they have one, else their
/// whole content in the work tree (so that `pre-commit run --all-files` checks them).
/// `index_file` is the index the commit is built from ([`super::git::repo::index_path`]).
pub fn read<'r>(repo: &'r Repository, index_file: &Path, files: &[PathBuf]) -> Result<Staged<'r>> {
    let root = super::git::repo::work_tree(repo)?.to_path_buf();
    // Git does not re-hash objects it reads (only fsck does); libgit2 does by default, which
    // costs more than the scan itself for large blobs (SHA-1 with collision detection).
    git2::opts::strict_hash_verification(false);
    // libgit2 looks diff attributes up through the repository's index, loading the whole
    // index (tens of milliseconds in a large repository) at the first patch. Diff attributes
    // do not apply here (binary content is told by its bytes, text is forced), so give the
    // repository object an empty in-memory index; nothing is written.
    let mut no_index = Index::new().map_err(Error::git("cannot create an in-memory index"))?;
    repo.set_index(&mut no_index).map_err(Error::git("cannot set up the repository"))?;
    let wanted = match files.is_empty() {
        true => None,
        false => Some(relative_paths(&root, files)?),
    };
    let map = map_index(index_file)?;
    let shared;
    let mut index = parse_index(index_file, map.as_deref())?;
    if let Some(link) = &index.link {
        let (path, map) = map_shared_index(repo, index_file, &link.shared)?;
        shared = map;
        index.merge_shared(&shared).map_err(|e| Error::Read {
            path,
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?;
    }
    let head = head_tree(repo)?;
    let changes = Changes::between(repo, head.as_ref(), &index)?;
    let mut parents = Vec::new();
    for parent in merge_parents(repo)? {
        let tree = repo
            .find_commit(parent)
            .and_then(|c| c.tree())
            .map_err(Error::git(format!("cannot read the merged commit {parent}")))?;
        parents.push(tree);
    }
    let mut staged = Staged { files: Vec::new(), skipped: Vec::new(), whole_files: false };
    let paths = changes.files(repo, head.as_ref(), &parents, wanted.as_ref(), &mut staged)?;
    if let Some(wanted) = wanted {
        let mut rest: Vec<&Vec<u8>> = wanted.iter().filter(|p| !paths.contains(*p)).collect();
        rest.sort();
        for rel in rest {
            work_tree_file(&root, rel, &mut staged)?;
        }
    }
    Ok(staged)
}

/// The bytes of the index file, mapped (as git does: a large index is read in a moment).
/// `None` when there is no index yet (nothing staged).
fn map_index(path: &Path) -> Result<Option<memmap2::Mmap>> {
    let read_err = |source| Error::Read { path: path.into(), source };
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_err(e)),
    };
    // SAFETY: the map is read-only and lives for this scan only. Git does not rewrite an index
    // in place (it writes `index.lock` and renames it), and a hook's `GIT_INDEX_FILE` is held
    // by the waiting git command, so the mapped bytes do not change under us.
    unsafe { memmap2::Mmap::map(&file) }.map(Some).map_err(read_err)
}

/// The shared index of a split index (`sharedindex.<hex>`), mapped: in the git folder, else
/// beside the index file, where git looks for it.
fn map_shared_index(
    repo: &Repository,
    index_file: &Path,
    id: &[u8; 20],
) -> Result<(PathBuf, memmap2::Mmap)> {
    let name = format!("sharedindex.{}", Oid::from_bytes(id).expect("20 bytes"));
    let in_git_dir = repo.path().join(&name);
    let path = match index_file.parent() {
        Some(dir) if !in_git_dir.exists() => dir.join(&name),
        _ => in_git_dir,
    };
    match map_index(&path)? {
        Some(map) => Ok((path, map)),
        None => Err(Error::Read {
            path,
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the shared index of the split index is missing",
            ),
        }),
    }
}

fn parse_index<'a>(path: &Path, data: Option<&'a [u8]>) -> Result<IndexFile<'a>> {
    let Some(data) = data else { return Ok(IndexFile::default()) };
    IndexFile::parse(data).map_err(|e| Error::Read {
        path: path.into(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })
}

/// The staged changes relative to one tree: every path that differs (old or new side), and
/// an in-memory index of the new side of those paths only. libgit2 then diffs the tree
/// against this small index, limited to these paths, with rename and copy detection.
struct Changes {
    paths: Vec<Vec<u8>>,
    index: Index,
}

impl Changes {
    /// Compares `base` (none: the empty tree) with the index, skipping every folder whose
    /// cache-tree id equals the tree's.
    fn between(repo: &Repository, base: Option<&Tree<'_>>, idx: &IndexFile<'_>) -> Result<Changes> {
        let mut walk = Walk { repo, idx, paths: Vec::new(), added: Vec::new() };
        let mut prefix = Vec::new();
        walk.dir(base.map(|t| t.id()), &mut prefix, 0..idx.entries.len(), idx.tree.as_ref())?;
        let mut index = Index::new().map_err(Error::git("cannot create an in-memory index"))?;
        for (path, mode, id) in walk.added {
            let entry = IndexEntry {
                ctime: IndexTime::new(0, 0),
                mtime: IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode,
                uid: 0,
                gid: 0,
                file_size: 0,
                id,
                flags: 0,
                flags_extended: 0,
                path,
            };
            index.add(&entry).map_err(Error::git(format!(
                "cannot read the staged entry {}",
                String::from_utf8_lossy(&entry.path)
            )))?;
        }
        Ok(Changes { paths: walk.paths, index })
    }

    /// The staged files of these changes (those in `wanted` only, when given), each with the
    /// merged commits' versions of its path; returns the paths it listed.
    fn files<'r>(
        &self,
        repo: &'r Repository,
        base: Option<&Tree<'_>>,
        parents: &[Tree<'r>],
        wanted: Option<&HashSet<Vec<u8>>>,
        out: &mut Staged<'r>,
    ) -> Result<HashSet<Vec<u8>>> {
        let mut listed = HashSet::new();
        if self.paths.is_empty() {
            return Ok(listed);
        }
        let mut opts = DiffOptions::new();
        opts.context_lines(0)
            .interhunk_lines(0)
            .ignore_submodules(true)
            .include_typechange(true)
            .disable_pathspec_match(true);
        for p in &self.paths {
            opts.pathspec(p.as_slice());
        }
        let mut diff = repo
            .diff_tree_to_index(base, Some(&self.index), Some(&mut opts))
            .map_err(Error::git("cannot compare the index with HEAD"))?;
        diff.find_similar(Some(DiffFindOptions::new().renames(true).copies(true)))
            .map_err(Error::git("cannot detect renamed files"))?;
        for i in 0..diff.deltas().len() {
            let delta = diff.get_delta(i).expect("index in range");
            if !matches!(
                delta.status(),
                Delta::Added | Delta::Modified | Delta::Renamed | Delta::Copied | Delta::Typechange
            ) {
                continue;
            }
            let new = delta.new_file();
            let Some(path) = new.path_bytes() else { continue };
            if new.mode() == FileMode::Commit {
                continue;
            }
            if wanted.is_some_and(|w| !w.contains(path)) {
                continue;
            }
            listed.insert(path.to_vec());
            let origin = Origin::new(String::from_utf8_lossy(path));
            let old = delta.old_file();
            let old_id = (old.exists() && old.mode() != FileMode::Commit).then(|| old.id());
            let content = change(repo, old_id, new.id(), &origin)?;
            let mut held = Vec::new();
            for tree in parents {
                let entry = tree.get_path(Path::new(std::ffi::OsStr::from_bytes(path)));
                if let Ok(e) = entry.and_then(|e| e.to_object(repo)) {
                    if let Ok(blob) = e.into_blob() {
                        held.push(blob);
                    }
                }
            }
            out.files.push(StagedFile { origin, content, held });
        }
        Ok(listed)
    }
}

/// Walks a tree and the index side by side (both are sorted the same way).
struct Walk<'a> {
    repo: &'a Repository,
    idx: &'a IndexFile<'a>,
    /// Every path that differs.
    paths: Vec<Vec<u8>>,
    /// New side: path, mode and object id.
    added: Vec<(Vec<u8>, u32, Oid)>,
}

/// A tree entry or a group of index entries at one folder level.
struct Item {
    name: Vec<u8>,
    dir: bool,
    /// Tree side: id and mode. Index side: the range of entries (a folder's, or one path's
    /// stages).
    id: Oid,
    mode: u32,
    range: std::ops::Range<usize>,
}

const GITLINK: u32 = tree::MODE_GITLINK;

impl Walk<'_> {
    fn dir(
        &mut self,
        tree: Option<Oid>,
        prefix: &mut Vec<u8>,
        range: std::ops::Range<usize>,
        cache: Option<&CacheTree>,
    ) -> Result<()> {
        if let (Some(t), Some(id)) = (tree, cache.and_then(|c| c.id)) {
            if t.as_bytes() == id {
                return Ok(());
            }
        }
        // A sparse index holds a folder outside the sparse-checkout cone as one entry (its
        // path ends with `/`, its id is a tree): unchanged when it is HEAD's tree, else the
        // two trees are compared.
        if range.len() == 1 {
            let e = &self.idx.entries[range.start];
            if e.mode == SPARSE_DIR && self.idx.path(e) == prefix.as_slice() {
                let id = Oid::from_bytes(self.idx.id(e)).expect("20 bytes");
                return self.trees(tree, Some(id), prefix);
            }
        }
        let old = self.tree_items(tree, prefix)?;
        let new = self.index_items(prefix.len(), range);
        for (a, b) in pairs(&old, &new) {
            let len = prefix.len();
            prefix.extend_from_slice(&a.or(b).expect("one side").name);
            if a.or(b).expect("one side").dir {
                prefix.push(b'/');
                let child = cache.and_then(|c| c.child(&prefix[len..prefix.len() - 1]));
                let range = b.map_or(0..0, |b| b.range.clone());
                self.dir(a.map(|a| a.id), prefix, range, if b.is_some() { child } else { None })?;
            } else {
                // The entry that goes into the commit (stage 0, not intent-to-add), if any.
                let new = b.and_then(|n| n.range.clone().find(|&k| self.idx.entries[k].staged()));
                let new = new.map(|k| {
                    let e = &self.idx.entries[k];
                    (Oid::from_bytes(self.idx.id(e)).expect("20 bytes"), e.mode)
                });
                self.file(a.map(|a| (a.id, a.mode)), new, prefix);
            }
            prefix.truncate(len);
        }
        Ok(())
    }

    /// Compares two trees (a sparse folder of the index with HEAD's), with the one tree diff.
    fn trees(&mut self, old: Option<Oid>, new: Option<Oid>, prefix: &mut Vec<u8>) -> Result<()> {
        if old == new {
            return Ok(());
        }
        let read = |id: Option<Oid>| id.map(|id| read_tree(self.repo, id, prefix)).transpose();
        let (a, b) = (read(old)?, read(new)?);
        let repo = self.repo;
        let mut found = Vec::new();
        tree::diff(
            &mut |id| read_tree(repo, id, b"a folder"),
            a.as_deref().map(Vec::as_slice),
            b.as_deref().map(Vec::as_slice),
            true,
            prefix,
            &mut |path, old, new| {
                found.push((path.to_vec(), old, new));
                Ok(())
            },
        )?;
        for (path, old, new) in found {
            self.file(old, new, &path);
        }
        Ok(())
    }

    /// One path that is a file (blob, symlink or submodule) on at least one side: its old
    /// and new id and mode.
    fn file(&mut self, old: Option<(Oid, u32)>, new: Option<(Oid, u32)>, path: &[u8]) {
        let old = old.filter(|o| o.1 != GITLINK);
        let new = new.filter(|n| n.1 != GITLINK);
        match (old, new) {
            (None, None) => {}
            (Some(o), Some(n)) if o.0 == n.0 => {}
            (_, new) => {
                self.paths.push(path.to_vec());
                if let Some((id, mode)) = new {
                    self.added.push((path.to_vec(), mode, id));
                }
            }
        }
    }

    /// The entries of a tree (none for `None`), in git's order (as a tree holds them).
    fn tree_items(&self, id: Option<Oid>, prefix: &[u8]) -> Result<Vec<Item>> {
        let Some(id) = id else { return Ok(Vec::new()) };
        let raw = read_tree(self.repo, id, prefix)?;
        Ok(tree::Entries(&raw)
            .map(|e| Item {
                name: e.name.to_vec(),
                dir: e.is_tree(),
                id: e.id,
                mode: e.mode,
                range: 0..0,
            })
            .collect())
    }

    /// The entries of `range` at this level: files (all stages of one path) and folders.
    fn index_items(&self, skip: usize, range: std::ops::Range<usize>) -> Vec<Item> {
        let entries = &self.idx.entries;
        let mut items = Vec::new();
        let mut k = range.start;
        while k < range.end {
            let path = self.idx.path(&entries[k]);
            let rest = &path[skip.min(path.len())..];
            let (name, dir, end) = match memchr::memchr(b'/', rest) {
                Some(slash) => {
                    let folder = &path[..skip + slash + 1];
                    let n = entries[k..range.end]
                        .partition_point(|e| self.idx.path(e).starts_with(folder));
                    (&rest[..slash], true, k + n)
                }
                None => {
                    let n = entries[k..range.end].partition_point(|e| self.idx.path(e) == path);
                    (rest, false, k + n)
                }
            };
            items.push(Item {
                name: name.to_vec(),
                dir,
                id: Oid::zero(),
                mode: 0,
                range: k..end.max(k + 1),
            });
            k = end.max(k + 1);
        }
        items
    }
}

/// Two sorted lists of items side by side: each name with its item on either side.
fn pairs<'x>(old: &'x [Item], new: &'x [Item]) -> Vec<(Option<&'x Item>, Option<&'x Item>)> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(old.len().max(new.len()));
    while i < old.len() || j < new.len() {
        let ord = match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) => key_cmp(a, b),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        let pair = match ord {
            std::cmp::Ordering::Less => (Some(&old[i]), None),
            std::cmp::Ordering::Greater => (None, Some(&new[j])),
            std::cmp::Ordering::Equal => (Some(&old[i]), Some(&new[j])),
        };
        i += usize::from(pair.0.is_some());
        j += usize::from(pair.1.is_some());
        out.push(pair);
    }
    out
}

/// Git's order of items (see [`tree::git_order`]).
fn key_cmp(a: &Item, b: &Item) -> std::cmp::Ordering {
    tree::git_order(&a.name, a.dir, &b.name, b.dir)
}

/// The raw content of tree `id` (`place` names it in an error: the folder it is).
fn read_tree(repo: &Repository, id: Oid, place: &[u8]) -> Result<std::sync::Arc<Vec<u8>>> {
    let name =
        if place.is_empty() { "the root folder".into() } else { String::from_utf8_lossy(place) };
    let context = format!("cannot read the tree {id} of {name}");
    let odb = repo.odb().map_err(Error::git(context.clone()))?;
    let obj =
        odb.read(id).map_err(|e| Error::from_git_read(id, ObjectType::Tree, &e).at_path(place))?;
    if obj.kind() != ObjectType::Tree {
        return Err(Error::Invalid(context));
    }
    Ok(std::sync::Arc::new(obj.data().to_vec()))
}

/// What one staged file adds over its old version (`None`: a new file). The blobs are
/// compared as plain bytes (no attributes, no filters): libgit2's attribute lookup would
/// load the whole index of the repository again. Content with a NUL byte in its first 8000
/// bytes is binary, as for git.
fn change<'r>(
    repo: &'r Repository,
    old: Option<Oid>,
    new: Oid,
    origin: &Origin,
) -> Result<Owned<'r>> {
    let load = |id: Oid| {
        repo.find_blob(id)
            .map_err(Error::git(format!("cannot read the blob {id} of {}", origin.file)))
    };
    let new = load(new)?;
    let old = old.map(load).transpose()?;
    if is_binary(new.content()) || old.as_ref().is_some_and(|o| is_binary(o.content())) {
        return Ok(Owned::Binary(new, old));
    }
    let Some(old) = old else {
        // A new file: every line is added. A large one is read in windows.
        if new.content().len() > crate::stream::WINDOW {
            return Ok(Owned::Whole(new));
        }
        return Ok(Owned::Added(AddedLines::all_of(new.content())));
    };
    let mut opts = DiffOptions::new();
    // Text forced: `-diff` or `binary` attributes must not hide lines from the scan.
    opts.context_lines(CONTEXT_LINES).interhunk_lines(0).force_text(true);
    // From the blobs: their ids are known (from buffers, libgit2 would hash both).
    let patch = Patch::from_blobs(&old, None, &new, None, Some(&mut opts))
        .map_err(Error::git(format!("cannot compare the staged {}", origin.file)))?;
    let mut added = AddedLines::default();
    for h in 0..patch.num_hunks() {
        let lines = patch.num_lines_in_hunk(h).map_err(Error::git("cannot read a hunk"))?;
        for l in 0..lines {
            let line = patch.line_in_hunk(h, l).map_err(Error::git("cannot read a line"))?;
            let is_added = match line.origin() {
                '+' => true,
                ' ' => false,
                _ => continue,
            };
            let number = line.new_lineno().map_or(0, u64::from);
            added.push_line(number, strip_eol(line.content()), is_added);
        }
    }
    Ok(Owned::Added(added))
}

/// HEAD's tree, or `None` on an unborn branch.
fn head_tree(repo: &Repository) -> Result<Option<Tree<'_>>> {
    match repo.head() {
        Ok(head) => {
            // A missing or damaged object is named (commit, folder, object), not left to
            // libgit2's error codes.
            let id = head.resolve().ok().and_then(|h| h.target());
            let commit = head.peel_to_commit().map_err(|e| match id {
                Some(id) => Error::from_git_read(id, ObjectType::Commit, &e).reachable_from("HEAD"),
                None => Error::Git { context: "cannot read HEAD".into(), source: e },
            })?;
            let tree = repo.find_tree(commit.tree_id()).map_err(|e| {
                Error::from_git_read(commit.tree_id(), ObjectType::Tree, &e)
                    .at_path(b"")
                    .in_commit(commit.id())
                    .reachable_from("HEAD")
            })?;
            Ok(Some(tree))
        }
        Err(e) if matches!(e.code(), git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound) => {
            Ok(None)
        }
        Err(e) => Err(Error::Git { context: "cannot read HEAD".into(), source: e }),
    }
}

/// The commits being merged, when the commit concludes a merge: `MERGE_HEAD` (a merge
/// concluded by `git commit`), else the `GITHEAD_<id>` variables that `git merge` sets for
/// the merged commits while it runs, so also for its `pre-merge-commit` hook (a merge without
/// conflicts; `MERGE_HEAD` is not written then). A variable naming no commit of this
/// repository is ignored (the scan is then stricter, never laxer). A cherry-pick or revert
/// (`CHERRY_PICK_HEAD`, `REVERT_HEAD`) makes a one-parent commit: what it adds over HEAD is
/// new to the branch and is scanned as any commit is.
fn merge_parents(repo: &Repository) -> Result<Vec<Oid>> {
    let path = repo.path().join("MERGE_HEAD");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(merging_now(repo)),
        Err(source) => return Err(Error::Read { path, source }),
    };
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            Oid::from_str(l).map_err(|_| Error::Invalid(format!("malformed {}", path.display())))
        })
        .collect()
}

/// The commits that a running `git merge` merges (`GITHEAD_<id>` variables).
fn merging_now(repo: &Repository) -> Vec<Oid> {
    let mut out: Vec<Oid> = std::env::vars_os()
        .filter_map(|(k, _)| {
            let id = k.to_str()?.strip_prefix("GITHEAD_")?;
            let id = Oid::from_str(id).ok().filter(|_| id.len() == 40)?;
            repo.find_commit(id).is_ok().then_some(id)
        })
        .collect();
    out.sort();
    out
}

/// Paths given on the command line, as paths relative to the work tree root (git's bytes).
fn relative_paths(root: &Path, files: &[PathBuf]) -> Result<HashSet<Vec<u8>>> {
    use std::os::unix::ffi::OsStrExt;
    let root = root.canonicalize().map_err(|source| Error::Read { path: root.into(), source })?;
    let cwd = std::env::current_dir()
        .map_err(|source| Error::Read { path: PathBuf::from("."), source })?;
    let mut out = HashSet::new();
    for f in files {
        let abs = normalize(&cwd.join(f));
        // Resolve symlinks in the folders, not in the file itself (it may be a symlink).
        let abs = match (abs.parent(), abs.file_name()) {
            (Some(dir), Some(name)) => dir.canonicalize().map(|d| d.join(name)).unwrap_or(abs),
            _ => abs,
        };
        let rel = abs.strip_prefix(&root).map_err(|_| {
            Error::Invalid(format!("{} is outside the work tree {}", f.display(), root.display()))
        })?;
        out.insert(rel.as_os_str().as_bytes().to_vec());
    }
    Ok(out)
}

/// Removes `.` and `..` components without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A file named on the command line without a staged change: its whole work tree content
/// (a symlink: its link text). A missing file or anything but a regular file is reported as
/// skipped (never opened: a FIFO would block); an unreadable one is an error.
fn work_tree_file(root: &Path, rel: &[u8], out: &mut Staged<'_>) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let path = root.join(std::ffi::OsStr::from_bytes(rel));
    let origin = Origin::new(String::from_utf8_lossy(rel));
    let read_err = |source| Error::Read { path: path.clone(), source };
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            out.skipped.push((origin.file.to_string(), "not in the work tree".into()));
            return Ok(());
        }
        Err(e) => return Err(read_err(e)),
    };
    let content = if meta.file_type().is_symlink() {
        let target = std::fs::read_link(&path).map_err(read_err)?;
        let mut added = AddedLines::default();
        added.push(1, target.as_os_str().as_bytes());
        Owned::Added(added)
    } else if meta.is_file() {
        Owned::File(crate::fs::open_regular(&path).map_err(read_err)?)
    } else {
        out.skipped.push((origin.file.to_string(), "not a file".into()));
        return Ok(());
    };
    out.whole_files = true;
    out.files.push(StagedFile { origin, content, held: Vec::new() });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::git::test_git::{git, git_command};

    /// An empty global git configuration (not /dev/null, which `git config --global` would
    /// replace by renaming its lock file over it).
    fn write(dir: &Path, rel: &str, content: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    /// The paths libgit2's full tree-to-index diff reports (content changes only).
    fn libgit2_paths(repo: &Repository, base: Option<&Tree<'_>>) -> Vec<Vec<u8>> {
        let index = repo.index().unwrap();
        let mut opts = DiffOptions::new();
        opts.ignore_submodules(true);
        let diff = repo.diff_tree_to_index(base, Some(&index), Some(&mut opts)).unwrap();
        let mut out: Vec<Vec<u8>> = diff
            .deltas()
            .filter(|d| d.old_file().id() != d.new_file().id())
            .flat_map(|d| [d.old_file(), d.new_file()])
            .filter(|f| f.exists())
            .filter_map(|f| f.path_bytes().map(<[u8]>::to_vec))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    fn walk_paths(repo: &Repository, base: Option<&Tree<'_>>) -> Vec<Vec<u8>> {
        let data = std::fs::read(repo.path().join("index")).unwrap();
        let idx = IndexFile::parse(&data).unwrap();
        let mut paths = Changes::between(repo, base, &idx).unwrap().paths;
        paths.sort();
        paths.dedup();
        paths
    }

    /// The entries of `.git/index` as `git ls-files -s --sparse` prints them.
    fn ls_files(repo: &Repository) -> String {
        let path = repo.path().join("index");
        let map = map_index(&path).unwrap().unwrap();
        let shared;
        let mut idx = IndexFile::parse(&map).unwrap();
        if let Some(link) = &idx.link {
            shared = map_shared_index(repo, &path, &link.shared).unwrap().1;
            idx.merge_shared(&shared).unwrap();
        }
        let mut out = String::new();
        for e in &idx.entries {
            let id = Oid::from_bytes(idx.id(e)).unwrap();
            let path = String::from_utf8_lossy(idx.path(e));
            out.push_str(&format!("{:06o} {id} {}\t{path}\n", e.mode, e.stage));
        }
        out
    }

    /// A split index reads as git reads it (shared entries deleted, replaced, added to, and
    /// conflict stages), through many changes and re-splits.
    #[test]
    fn split_index_reads_as_git_does() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        git(d, &["init", "-q", "-b", "main"]);
        git(d, &["config", "core.splitIndex", "true"]);
        git(d, &["config", "splitIndex.maxPercentChange", "50"]);
        for i in 0..40 {
            write(d, &format!("f{i:02}"), &format!("{i}\n"));
            write(d, &format!("dir/g{i:02}"), &format!("{i}\n"));
        }
        git(d, &["add", "-A"]);
        git(d, &["commit", "-q", "-m", "base"]);
        let check = |step: &str| {
            let repo = Repository::open(d).unwrap();
            assert_eq!(ls_files(&repo), git(d, &["ls-files", "-s"]), "after {step}");
        };
        check("base");
        for round in 0..6 {
            for i in (round..40).step_by(7) {
                write(d, &format!("f{i:02}"), &format!("{i} {round}\n"));
            }
            std::fs::remove_file(d.join(format!("dir/g{:02}", round * 3))).unwrap();
            write(d, &format!("new/{round}"), "x\n");
            write(d, &format!("f{:02}a", round), "between\n");
            git(d, &["add", "-A"]);
            check(&format!("round {round}"));
            git(d, &["update-index", "--chmod=+x", &format!("f{:02}", 39 - round)]);
            git(d, &["rm", "-q", "--cached", &format!("dir/g{:02}", 39 - round)]);
            check(&format!("round {round} (chmod, rm)"));
            if round % 2 == 1 {
                git(d, &["commit", "-q", "-m", "r"]);
                check(&format!("round {round} (commit)"));
            }
        }
        // Conflict stages over shared entries, then their resolution.
        git(d, &["commit", "-q", "--allow-empty", "-m", "before conflict"]);
        git(d, &["checkout", "-q", "-b", "side"]);
        write(d, "f10", "side\n");
        git(d, &["commit", "-q", "-am", "side"]);
        git(d, &["checkout", "-q", "main"]);
        write(d, "f10", "main\n");
        git(d, &["commit", "-q", "-am", "main"]);
        let out = git_command(d).args(["merge", "side"]).output().unwrap();
        assert!(!out.status.success(), "the merge should conflict");
        check("conflict");
        write(d, "f10", "resolved\n");
        git(d, &["add", "f10"]);
        check("resolved");
    }

    /// The cache-tree walk finds exactly the paths that libgit2's full diff finds, with the
    /// cache-tree valid (after `git write-tree`), partly invalidated (after `git add`), and
    /// for typechanges between files and folders and names that sort around `/`.
    #[test]
    fn walk_agrees_with_the_full_diff() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        git(d, &["init", "-q", "-b", "main"]);
        for name in ["a/x", "a/y/z", "a-b", "a.c", "b/deep/er/f", "b/g", "c", "d/e", "t"] {
            write(d, name, name);
        }
        git(d, &["add", "-A"]);
        git(d, &["commit", "-q", "-m", "base"]);
        let steps: &[&dyn Fn()] = &[
            &|| write(d, "a/y/z", "changed"),
            &|| write(d, "a/y/new", "new"),
            &|| std::fs::remove_file(d.join("b/g")).unwrap(),
            &|| {
                std::fs::remove_file(d.join("c")).unwrap();
                write(d, "c/now-a-folder", "x");
            },
            &|| {
                std::fs::remove_dir_all(d.join("d")).unwrap();
                write(d, "d", "now a file");
            },
            &|| write(d, "a0", "sorts after a/"),
            &|| std::fs::rename(d.join("b/deep/er/f"), d.join("b/deep/f2")).unwrap(),
        ];
        let check = |i: usize| {
            // Opened afresh each time: libgit2 keeps the index it loaded.
            let repo = Repository::open(d).unwrap();
            let head = repo.head().unwrap().peel_to_tree().unwrap();
            assert_eq!(walk_paths(&repo, Some(&head)), libgit2_paths(&repo, Some(&head)), "{i}");
            assert_eq!(walk_paths(&repo, None), libgit2_paths(&repo, None), "{i}");
        };
        for (i, step) in steps.iter().enumerate() {
            step();
            git(d, &["add", "-A"]);
            check(i);
            git(d, &["write-tree"]);
            check(i);
        }
        // A valid cache-tree equal to HEAD: nothing changed.
        git(d, &["reset", "-q", "--hard"]);
        git(d, &["write-tree"]);
        let repo = Repository::open(d).unwrap();
        let head = repo.head().unwrap().peel_to_tree().unwrap();
        assert!(walk_paths(&repo, Some(&head)).is_empty());
    }
}
