//! Opening the repository the way git hands it to a hook: `GIT_DIR`, `GIT_WORK_TREE` and
//! `GIT_INDEX_FILE` from the environment (libgit2's "open from env"), or a folder given with
//! `-C`, which is opened on its own (the `GIT_*` variables then do not apply).

use std::path::{Path, PathBuf};

use git2::{ErrorCode, Repository, RepositoryOpenFlags};

use crate::{Error, Result};

/// Opens the repository of `dir`, or the one git would use here when `dir` is `None`.
pub fn open(dir: Option<&Path>) -> Result<Repository> {
    let result = match dir {
        Some(d) => {
            if std::fs::metadata(d).is_err() {
                return Err(Error::NoSuchPath(d.to_path_buf()));
            }
            Repository::open_ext(d, RepositoryOpenFlags::empty(), std::iter::empty::<&str>())
        }
        None => Repository::open_from_env(),
    };
    let repo = result.map_err(|e| {
        let place = dir.map(Path::to_path_buf).unwrap_or_else(current_dir);
        if e.code() == ErrorCode::NotFound {
            Error::NotARepository(place)
        } else {
            // libgit2's words without its error codes: a SHA-256 repository ("unknown object
            // format 'sha256'"), reftable refs ("unsupported extension name
            // extensions.refstorage") are repositories it cannot read.
            Error::Invalid(format!(
                "cannot open the repository at {}: {}",
                place.display(),
                e.message()
            ))
        }
    })?;
    if dir.is_none() {
        set_env_work_tree(&repo)?;
    }
    check_packs(&repo, dir.is_none())?;
    Ok(repo)
}

/// Checks the pack indexes libgit2 may read through (see [`super::idx`]): the repository's,
/// its alternates', and, when opened from the environment as a hook is, those of
/// `GIT_OBJECT_DIRECTORY` and `GIT_ALTERNATE_OBJECT_DIRECTORIES`. A damaged one would crash
/// libgit2 or hide objects; it fails here, naming the file. One pass over each index's
/// offset table (a tenth of a millisecond per 100,000 objects).
fn check_packs(repo: &Repository, from_env: bool) -> Result<()> {
    super::idx::check_objects(&repo.commondir().join("objects"))?;
    if from_env {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let mut dirs: Vec<PathBuf> =
            var("GIT_OBJECT_DIRECTORY").map(PathBuf::from).into_iter().collect();
        if let Some(alts) = var("GIT_ALTERNATE_OBJECT_DIRECTORIES") {
            dirs.extend(std::env::split_paths(&alts));
        }
        for d in dirs {
            super::idx::check_objects(&current_dir().join(d))?;
        }
    }
    Ok(())
}

/// `GIT_WORK_TREE` as git reads it: relative to the current folder, and over `core.bare`
/// (`git --git-dir=X --work-tree=Y`, as for a bare repository of dotfiles, sets both
/// variables for the hook). libgit2 ignores it in a bare repository and reads a relative one
/// from the git folder. Only the repository object changes; nothing is written.
fn set_env_work_tree(repo: &Repository) -> Result<()> {
    let Some(value) = std::env::var_os("GIT_WORK_TREE").filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    let path = current_dir().join(value);
    let path = path.canonicalize().map_err(|source| Error::Read { path, source })?;
    let same = repo.workdir().and_then(|w| w.canonicalize().ok()).is_some_and(|w| w == path);
    if !same {
        repo.set_workdir(&path, false)
            .map_err(Error::git(format!("cannot use the work tree {}", path.display())))?;
    }
    Ok(())
}

/// The index file that the next commit is built from: `GIT_INDEX_FILE` when the repository
/// was opened from the environment (`dir` is `None`) and git set it (a temporary index for
/// `git commit -a`, `git commit PATH`, `--only`, `--include`), else the repository's own.
/// A relative path is relative to the current folder (git runs hooks at the work tree root),
/// as libgit2 reads it.
pub fn index_path(repo: &Repository, dir: Option<&Path>) -> Result<PathBuf> {
    let from_env = match dir {
        None => std::env::var_os("GIT_INDEX_FILE").filter(|v| !v.is_empty()).map(PathBuf::from),
        Some(_) => None,
    };
    match from_env {
        // git names the index it builds the commit from; a missing file means the hook's
        // environment is wrong: fail rather than pass an empty index as clean.
        Some(path) if !path.is_file() => Err(Error::Read {
            path,
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "GIT_INDEX_FILE names no file",
            ),
        }),
        Some(path) => Ok(path),
        // The repository's own index may not exist yet (nothing was ever added).
        None => Ok(repo.path().join("index")),
    }
}

/// The work tree root, or an error for a bare repository.
pub fn work_tree(repo: &Repository) -> Result<&Path> {
    repo.workdir().ok_or_else(|| {
        Error::Invalid(format!(
            "the repository at {} has no work tree (bare repository)",
            repo.path().display()
        ))
    })
}

fn current_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}
