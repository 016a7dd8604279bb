//! The files a repository tracks, as the work tree holds them (what `tokenguard baseline`
//! records): the paths of the index's regular files, in order. Symbolic links and submodules
//! are left out; a path missing from the work tree or holding anything but a regular file is
//! left out when opened (never blocked on: see [`crate::fs::open_regular`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::unit::{Content, Origin, Unit};
use crate::{Error, Result};

/// A tracked file: its path relative to the work tree root, and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    /// Relative to the work tree root, `/`-separated.
    pub rel: String,
    /// The file in the work tree.
    pub path: PathBuf,
}

impl Tracked {
    /// The file's unit, or `None` when the work tree does not hold a regular file there.
    pub fn unit(&self) -> std::io::Result<Option<Unit<'static>>> {
        match crate::fs::open_regular(&self.path) {
            Ok(file) => {
                Ok(Some(Unit { origin: Origin::new(&self.rel), content: Content::File(file) }))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidInput
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// The regular files that the index of `repo` tracks, under the work tree `root`.
pub fn files(repo: &git2::Repository, root: &Path) -> Result<Vec<Tracked>> {
    let index = repo.index().map_err(Error::git("cannot read the index"))?;
    let mut paths: BTreeSet<Vec<u8>> = BTreeSet::new();
    for entry in index.iter() {
        let kind = entry.mode & 0o170000;
        if kind == 0o120000 || kind == 0o160000 {
            continue;
        }
        paths.insert(entry.path);
    }
    Ok(paths
        .into_iter()
        .map(|rel| {
            let rel = String::from_utf8_lossy(&rel).into_owned();
            Tracked { path: root.join(&rel), rel }
        })
        .collect())
}
