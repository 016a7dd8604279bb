//! Partial clones (`git clone --filter=blob:none`, common in CI): the repository lacks objects
//! that a promisor remote promises to send on demand. git fetches each one as it needs it; a
//! history scan needs thousands, so the scan lists the missing ones first and fetches them in
//! batches with git's own lazy-fetch command (a network call: only ever in a partial clone,
//! and never with `GIT_NO_LAZY_FETCH` set, as for git).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use git2::{Oid, Repository};

use crate::sanitize::for_terminal;
use crate::{Error, Result};

/// Object ids asked for in one fetch.
const BATCH: usize = 50_000;

/// A partial clone's promisor remotes.
#[derive(Debug, Clone)]
pub struct Promisor {
    git_dir: PathBuf,
    /// The promisor remotes, in the order they are tried.
    pub remotes: Vec<String>,
    /// Whether fetching is allowed (`GIT_NO_LAZY_FETCH` turns it off).
    pub fetch: bool,
}

/// git's reading of a boolean environment variable (`1`, `true`, `yes`, `on`).
fn env_true(name: &str) -> bool {
    std::env::var(name)
        .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
        .unwrap_or(false)
}

impl Promisor {
    /// The promisor remotes of `repo` when it is a partial clone (a remote with
    /// `remote.<name>.promisor` or `remote.<name>.partialclonefilter`, the remote
    /// `extensions.partialClone` names, or a `.promisor` pack), else `None`.
    pub fn detect(repo: &Repository) -> Result<Option<Promisor>> {
        let config = repo
            .config()
            .and_then(|mut c| c.snapshot())
            .map_err(Error::git("cannot read the repository's configuration"))?;
        let mut remotes: Vec<String> = Vec::new();
        let mut add = |name: &str| {
            // A name git would take as an option is no remote to hand to `git fetch`.
            if !name.is_empty() && !name.starts_with('-') && !remotes.iter().any(|r| r == name) {
                remotes.push(name.to_string());
            }
        };
        let mut entries = config
            .entries(Some(r"^remote\..*\.(promisor|partialclonefilter)$"))
            .map_err(Error::git("cannot read the repository's configuration"))?;
        while let Some(entry) = entries.next() {
            let Ok(entry) = entry else { continue };
            let (Some(key), value) = (entry.name(), entry.value().unwrap_or_default()) else {
                continue;
            };
            let Some(rest) = key.strip_prefix("remote.") else { continue };
            let Some((name, var)) = rest.rsplit_once('.') else { continue };
            let on = var.eq_ignore_ascii_case("partialclonefilter")
                || matches!(value.to_ascii_lowercase().as_str(), "true" | "yes" | "on" | "1" | "");
            if on {
                add(name);
            }
        }
        if let Ok(name) = config.get_string("extensions.partialclone") {
            add(&name);
        }
        if remotes.is_empty() && !has_promisor_pack(&repo.commondir().join("objects")) {
            return Ok(None);
        }
        Ok(Some(Promisor {
            git_dir: repo.path().to_path_buf(),
            remotes,
            fetch: !env_true("GIT_NO_LAZY_FETCH"),
        }))
    }

    /// Fetches objects `ids` from the promisor remotes, in batches (each batch from the first
    /// remote that sends it). The error says why a batch could not be fetched (the remote's
    /// last words); the batches after it are not tried.
    pub fn fetch(&self, ids: &[Oid]) -> std::result::Result<(), String> {
        if self.remotes.is_empty() {
            return Err("no promisor remote is configured".into());
        }
        for batch in ids.chunks(BATCH) {
            let mut why = String::new();
            let fetched = self.remotes.iter().any(|remote| match self.fetch_from(remote, batch) {
                Ok(()) => true,
                Err(e) => {
                    why = format!("{remote}: {e}");
                    false
                }
            });
            if !fetched {
                return Err(why);
            }
        }
        Ok(())
    }

    /// One `git fetch` of `ids` from `remote`, as git's own lazy fetch runs it: no
    /// negotiation, no tags, no refs or FETCH_HEAD written, only the objects asked for.
    fn fetch_from(&self, remote: &str, ids: &[Oid]) -> std::result::Result<(), String> {
        let mut child = Command::new("git")
            .arg("--git-dir")
            .arg(&self.git_dir)
            .args(["-c", "fetch.negotiationAlgorithm=noop", "fetch", remote])
            .args(["--no-tags", "--no-write-fetch-head", "--recurse-submodules=no"])
            .args(["--filter=blob:none", "--stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run git: {e}"))?;
        let mut stdin = child.stdin.take().expect("piped");
        let list: String = ids.iter().map(|id| format!("{id}\n")).collect();
        let writer = std::thread::spawn(move || stdin.write_all(list.as_bytes()));
        let out = child.wait_with_output().map_err(|e| format!("cannot run git: {e}"))?;
        let _ = writer.join();
        if out.status.success() {
            return Ok(());
        }
        // git's first `fatal:` or `error:` line says why; else its last words.
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines = || stderr.lines().map(str::trim).filter(|l| !l.is_empty());
        let why = lines()
            .find(|l| l.starts_with("fatal:") || l.starts_with("error:"))
            .or_else(|| lines().next_back())
            .unwrap_or("git fetch failed");
        let why: String = why.chars().take(300).collect();
        Err(for_terminal(&why).into_owned())
    }
}

/// Whether an object folder holds a pack that git marks as from a promisor remote.
fn has_promisor_pack(objects: &Path) -> bool {
    std::fs::read_dir(objects.join("pack")).is_ok_and(|entries| {
        entries.flatten().any(|e| e.path().extension().is_some_and(|x| x == "promisor"))
    })
}
