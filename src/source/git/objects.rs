//! Reading objects by id for the history scan: from the mapped packs ([`super::pack`]),
//! else through libgit2 (loose objects, alternates, packs the reader does not know). Each
//! worker thread has its own [`Objects`] (a repository handle and a pack reader with its
//! cache), handed out by a [`Pool`].

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use git2::{ObjectType, Oid, Repository};

use super::pack::{Content, Packs, Reader};
use crate::{Error, Result};

/// What a thread reads objects with: a repository handle and a pack reader (with its cache).
pub struct Objects {
    repo: Repository,
    reader: RefCell<Reader>,
}

impl Objects {
    /// The repository handle (for what goes through libgit2: rename detection, commit
    /// metadata).
    pub fn repo(&self) -> &Repository {
        &self.repo
    }

    /// Object `id`, which must be of kind `kind`.
    pub fn read(&self, id: Oid, kind: ObjectType) -> Result<Content> {
        let hit = self.reader.borrow_mut().read(id);
        let (found, content) = match hit {
            Some(hit) => hit,
            None => {
                let odb = self.repo.odb().map_err(Error::git("cannot open the object database"))?;
                let obj = odb.read(id).map_err(Error::git(format!("cannot read object {id}")))?;
                (obj.kind(), Arc::new(obj.data().to_vec()))
            }
        };
        if found != kind {
            return Err(Error::Invalid(format!("object {id} is a {found}, not a {kind}")));
        }
        Ok(content)
    }
}

/// Readers for the workers: one slot per rayon thread, so that a thread finds its own cache
/// again in its next chunk (its chunks are consecutive commits). A chunk that finds its
/// thread's slot empty (a chunk started while another waits on the same thread) opens more.
pub struct Pool {
    path: PathBuf,
    /// The packs, read without libgit2 (see [`super::pack`]).
    packs: Arc<Packs>,
    slots: Vec<Mutex<Option<Objects>>>,
}

/// Cache of recently read objects per reader (delta bases, the trees of the last commits).
const READER_CACHE: usize = 32 << 20;

impl Pool {
    /// A pool for the repository at `path` (its git folder) and its packs.
    pub fn new(path: PathBuf, packs: Packs) -> Pool {
        let threads = rayon::current_num_threads().max(1);
        Pool {
            path,
            packs: Arc::new(packs),
            slots: (0..threads).map(|_| Mutex::new(None)).collect(),
        }
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
        Ok(Objects { repo, reader })
    }

    /// Gives a reader back for the thread's next chunk.
    pub fn give_back(&self, h: Objects) {
        self.slot().lock().expect("pool lock").get_or_insert(h);
    }
}
