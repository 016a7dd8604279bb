//! Reading objects by id for the history scan: from the mapped packs ([`super::pack`]),
//! else through libgit2 (loose objects, and what the pack reader leaves to it). Each worker
//! thread has its own [`Objects`] (a repository handle and a pack reader with its cache),
//! handed out by a [`Pool`].
//!
//! An object that cannot be read is an error ([`crate::Error::Object`]): missing, damaged
//! (a pack entry whose zlib stream or sizes are wrong, a loose object whose content does not
//! hash to its id, a tree that does not parse), or of another kind than asked for. The one
//! exception is a commit that is missing but has a replacement (`git replace`): then the
//! replacement is read in its place, and said so on standard error ([`Replacements`]).

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use git2::{ObjectType, Oid, Repository};

use super::large::{Loose, STREAM_MIN};
use super::pack::{Content, Opened, Packs, Reader};
use crate::error::Problem;
use crate::unit::Blob;
use crate::{Error, Result};

/// What a thread reads objects with: a repository handle and a pack reader (with its cache).
pub struct Objects {
    repo: Repository,
    reader: RefCell<Reader>,
    packs: Arc<Packs>,
    replacements: Arc<Replacements>,
    /// The object folders (the repository's and its alternates'), for loose objects.
    dirs: Arc<Vec<PathBuf>>,
}

impl Objects {
    /// The repository handle (for what goes through libgit2: rename detection, commit
    /// metadata).
    pub fn repo(&self) -> &Repository {
        &self.repo
    }

    /// Object `id`, which must be of kind `kind`. A missing commit that has a replacement
    /// reads as its replacement.
    pub fn read(&self, id: Oid, kind: ObjectType) -> Result<Content> {
        match kind {
            ObjectType::Commit => self.read_commit(id).map(|(_, content)| content),
            _ => self.read_exact(id, kind),
        }
    }

    /// Commit `id`, or its replacement when it is missing and has one: the id read, and the
    /// content.
    pub fn read_commit(&self, id: Oid) -> Result<(Oid, Content)> {
        match self.read_exact(id, ObjectType::Commit) {
            Ok(content) => Ok((id, content)),
            Err(Error::Object(e)) if e.problem == Problem::Missing => {
                match self.replacements.get(id) {
                    Some(with) => {
                        let content = self.read_exact(with, ObjectType::Commit)?;
                        self.replacements.note(id, with);
                        Ok((with, content))
                    }
                    None => Err(Error::Object(e)),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Blob `id`: whole, or as a stream when it is large ([`STREAM_MIN`] or more; see
    /// [`super::large`]), so that no blob is held whole in memory because of its size.
    pub fn blob(&self, id: Oid) -> Result<Blob> {
        let opened = self.reader.borrow_mut().open_stream(id, STREAM_MIN);
        match opened.map_err(|d| self.damage(id, ObjectType::Blob, d))? {
            Opened::Stream(s) => return Ok(Blob::Stream(s)),
            Opened::Whole => {}
            Opened::NotInPacks => {
                let read = |e: std::io::Error| match e.into_inner() {
                    Some(inner) => match inner.downcast::<Error>() {
                        Ok(e) => *e,
                        Err(other) => Error::object(
                            id,
                            ObjectType::Blob,
                            Problem::Unreadable(other.to_string()),
                        ),
                    },
                    None => Error::object(id, ObjectType::Blob, Problem::Unreadable("".into())),
                };
                if let Some((kind, loose)) = Loose::open(&self.dirs, id).map_err(read)? {
                    if kind == ObjectType::Blob && loose.size() >= STREAM_MIN {
                        return Ok(Blob::Stream(Box::new(loose)));
                    }
                }
            }
        }
        self.read_exact(id, ObjectType::Blob).map(Blob::Bytes)
    }

    /// Whether the repository holds object `id` (in a pack, or loose), without reading it.
    pub fn has(&self, id: Oid) -> bool {
        if self.packs.contains(id) {
            return true;
        }
        let hex = id.to_string();
        self.dirs.iter().any(|d| d.join(&hex[..2]).join(&hex[2..]).is_file())
    }

    /// The replacements of this repository (`refs/replace/`).
    pub fn replacements(&self) -> &Replacements {
        &self.replacements
    }

    fn damage(&self, id: Oid, kind: ObjectType, d: super::pack::Damage) -> Error {
        let pack = self.packs.path(d.pack).display();
        let what = format!("{} at offset {} of {pack}", d.what, d.offset);
        Error::object(id, kind, Problem::Damaged(what))
    }

    fn read_exact(&self, id: Oid, kind: ObjectType) -> Result<Content> {
        let hit = self.reader.borrow_mut().read(id).map_err(|d| self.damage(id, kind, d))?;
        let (found, content) = match hit {
            Some(hit) => hit,
            None => self.read_with_libgit2(id, kind)?,
        };
        if found != kind {
            return Err(Error::object(id, kind, Problem::WrongKind(found)));
        }
        Ok(content)
    }

    /// An object the pack reader does not hold (a loose one, mostly), checked as the pack
    /// reader's are: its content must hash to its id (libgit2 reads loose objects without
    /// checking that here: the history scan turns libgit2's check off, as it would hash every
    /// packed object too), and a tree must parse.
    fn read_with_libgit2(&self, id: Oid, kind: ObjectType) -> Result<(ObjectType, Content)> {
        // A loose object is read with tokenguard's own checks first: libgit2 inflated a
        // damaged one for ever.
        let checked = super::large::check_loose(&self.dirs, id);
        if let Err(e) = checked {
            let why = e.to_string();
            let inner = e.into_inner().and_then(|b| b.downcast::<Error>().ok());
            let problem = match inner.map(|b| *b) {
                Some(Error::Object(o)) => o.problem,
                _ => Problem::Unreadable(why),
            };
            return Err(Error::object(id, kind, problem));
        }
        let odb = self.repo.odb().map_err(Error::git("cannot open the object database"))?;
        let obj = odb.read(id).map_err(|e| Error::from_git_read(id, kind, &e))?;
        let found = obj.kind();
        let hashed = Oid::hash_object(found, obj.data())
            .map_err(|e| Error::object(id, kind, Problem::Unreadable(e.message().into())))?;
        if hashed != id {
            let what = "its content does not hash to its id".to_string();
            return Err(Error::object(id, kind, Problem::Damaged(what)));
        }
        if found == ObjectType::Tree {
            check_tree(obj.data())
                .map_err(|w| Error::object(id, kind, Problem::Damaged(w.into())))?;
        }
        Ok((found, Arc::new(obj.data().to_vec())))
    }
}

/// Checks that a tree object parses to its end: entries of `<octal mode> <name>\0<20-byte
/// id>`, each name non-empty. A tree that does not parse would otherwise end early in a
/// tree diff, and the entries after the damage would go unscanned.
pub fn check_tree(raw: &[u8]) -> Result<(), &'static str> {
    let mut rest = raw;
    while !rest.is_empty() {
        let space = memchr::memchr(b' ', rest).ok_or("a tree entry without a mode")?;
        let mode = &rest[..space];
        if mode.is_empty() || mode.len() > 7 || !mode.iter().all(|d| (b'0'..=b'7').contains(d)) {
            return Err("a tree entry with a bad mode");
        }
        let name_len =
            memchr::memchr(0, &rest[space + 1..]).ok_or("a tree entry without a name")?;
        if name_len == 0 {
            return Err("a tree entry with an empty name");
        }
        let end = space + 1 + name_len + 1 + 20;
        rest = rest.get(end..).ok_or("a tree entry cut short")?;
    }
    Ok(())
}

/// Replacement objects (`git replace`): `refs/replace/<id>` names the object that git shows
/// in place of `<id>`. A push sends the originals, so the scan reads the originals; only a
/// commit whose original is missing (a repository that lacks some objects and replaces them)
/// is read through its replacement, with a note. Off when git's are off
/// (`GIT_NO_REPLACE_OBJECTS`, `core.useReplaceRefs = false`); `GIT_REPLACE_REF_BASE` moves
/// them as it does for git.
#[derive(Default)]
pub struct Replacements {
    map: HashMap<Oid, (Oid, String)>,
    /// The missing commits read as their replacement so far.
    noted: Mutex<BTreeSet<(Oid, Oid)>>,
}

impl Replacements {
    /// The replacements of `repo`.
    pub fn load(repo: &Repository) -> Result<Replacements> {
        let off = std::env::var_os("GIT_NO_REPLACE_OBJECTS").is_some()
            || repo.config().and_then(|c| c.get_bool("core.useReplaceRefs")).ok() == Some(false);
        if off {
            return Ok(Replacements::default());
        }
        let base = std::env::var("GIT_REPLACE_REF_BASE")
            .ok()
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| "refs/replace/".into());
        let base = if base.ends_with('/') { base } else { format!("{base}/") };
        let mut map = HashMap::new();
        let refs = repo
            .references_glob(&format!("{base}*"))
            .map_err(Error::git("cannot list the replacement refs"))?;
        for r in refs {
            let r = r.map_err(Error::git("cannot read a replacement ref"))?;
            let Some(name) = r.name() else { continue };
            let (Ok(original), Some(with)) = (Oid::from_str(&name[base.len()..]), r.target())
            else {
                continue; // not a replacement git would use either
            };
            map.insert(original, (with, name.to_string()));
        }
        Ok(Replacements { map, noted: Mutex::default() })
    }

    /// The replacement of `id`, if any.
    pub fn get(&self, id: Oid) -> Option<Oid> {
        self.map.get(&id).map(|(with, _)| *with)
    }

    /// Records that missing commit `id` is scanned as `with` (see [`Replacements::notes`]).
    pub fn note(&self, id: Oid, with: Oid) {
        self.noted.lock().expect("notes lock").insert((id, with));
    }

    /// What the scan should say of the replacements it read, one line each.
    pub fn notes(&self) -> Vec<String> {
        let noted = self.noted.lock().expect("notes lock");
        noted
            .iter()
            .map(|(id, with)| {
                let name = self.map.get(id).map_or("", |(_, n)| n.as_str());
                format!(
                    "commit {id} is not in the repository; its replacement {with} ({name}) is \
                     scanned in its place"
                )
            })
            .collect()
    }
}

/// Readers for the workers: one slot per rayon thread, so that a thread finds its own cache
/// again in its next chunk (its chunks are consecutive commits). A chunk that finds its
/// thread's slot empty (a chunk started while another waits on the same thread) opens more.
pub struct Pool {
    path: PathBuf,
    /// The packs, read without libgit2 (see [`super::pack`]).
    packs: Arc<Packs>,
    replacements: Arc<Replacements>,
    dirs: Arc<Vec<PathBuf>>,
    slots: Vec<Mutex<Option<Objects>>>,
}

/// Cache of recently read objects per reader (delta bases, the trees of the last commits).
const READER_CACHE: usize = 32 << 20;

impl Pool {
    /// A pool for `repo`: its packs (and its alternates'), checked and mapped, and its
    /// replacement refs. A damaged pack index is an error.
    /// What the scan should say of the replacements it read (see [`Replacements::notes`]).
    pub fn notes(&self) -> Vec<String> {
        self.replacements.notes()
    }

    pub fn open(repo: &Repository) -> Result<Pool> {
        let objects = repo.commondir().join("objects");
        let packs = Packs::open(&objects)?;
        let threads = rayon::current_num_threads().max(1);
        Ok(Pool {
            path: repo.path().to_path_buf(),
            packs: Arc::new(packs),
            replacements: Arc::new(Replacements::load(repo)?),
            dirs: Arc::new(super::idx::object_dirs(&objects)),
            slots: (0..threads).map(|_| Mutex::new(None)).collect(),
        })
    }

    fn slot(&self) -> &Mutex<Option<Objects>> {
        &self.slots[rayon::current_thread_index().unwrap_or(0) % self.slots.len()]
    }

    /// The calling thread's reader, or a new one.
    pub fn take(&self) -> Result<Objects> {
        if let Some(h) = self.slot().lock().expect("pool lock").take() {
            return Ok(h);
        }
        let repo = Repository::open(&self.path).map_err(Error::git(format!(
            "cannot open the repository at {}",
            self.path.display()
        )))?;
        let reader = RefCell::new(Reader::new(Arc::clone(&self.packs), READER_CACHE));
        Ok(Objects {
            repo,
            reader,
            packs: Arc::clone(&self.packs),
            replacements: Arc::clone(&self.replacements),
            dirs: Arc::clone(&self.dirs),
        })
    }

    /// Gives a reader back for the thread's next chunk.
    pub fn give_back(&self, h: Objects) {
        self.slot().lock().expect("pool lock").get_or_insert(h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_that_do_not_parse_to_their_end_are_refused() {
        let entry = |mode: &str, name: &str| {
            let mut e = format!("{mode} {name}\0").into_bytes();
            e.extend_from_slice(&[7; 20]);
            e
        };
        let good = [entry("100644", "a"), entry("40000", "d")].concat();
        assert_eq!(check_tree(&good), Ok(()));
        assert_eq!(check_tree(b""), Ok(()));
        for bad in [
            good[..good.len() - 1].to_vec(),
            [good.clone(), b"garbage".to_vec()].concat(),
            entry("10064x", "a"),
            entry("100644", ""),
            entry("", "a"),
        ] {
            assert!(check_tree(&bad).is_err(), "{:?}", String::from_utf8_lossy(&bad));
        }
    }
}
