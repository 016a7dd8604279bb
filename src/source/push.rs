//! What a push adds: the commits a `pre-push` hook is about to send, or that a server's
//! `pre-receive` hook is about to accept. This module parses the hooks' standard input and
//! turns it into a set of commits (reachable from the pushed tips, not from what the other
//! side already has); [`crate::source::history::plan`] lists them for the pipeline.

use git2::{ObjectType, Oid, Repository};

use crate::source::history::Revisions;
use crate::{Error, Result};

/// One line of git's pre-push input: `<local ref> <local oid> <remote ref> <remote oid>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushLine {
    /// The local ref (or `(delete)`).
    pub local_ref: String,
    /// What is pushed (all zeros for a deletion).
    pub local: Oid,
    /// The ref on the remote.
    pub remote_ref: String,
    /// What the remote has now (all zeros for a new ref).
    pub remote: Oid,
}

/// One line of git's pre-receive input: `<old oid> <new oid> <ref>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveLine {
    /// The ref's value before the push (all zeros for a new ref).
    pub old: Oid,
    /// The ref's value after the push (all zeros for a deletion).
    pub new: Oid,
    /// The ref.
    pub refname: String,
}

fn parse_oid(word: &str) -> Option<Oid> {
    // SHA-1 object names (libgit2 reads SHA-1 repositories only).
    let hex = word.len() == 40 && word.bytes().all(|b| b.is_ascii_hexdigit());
    if hex {
        Oid::from_str(word).ok()
    } else {
        None
    }
}

fn is_zero(oid: Oid) -> bool {
    oid.as_bytes().iter().all(|&b| b == 0)
}

fn malformed(hook: &str, number: usize, expected: &str) -> Error {
    Error::Invalid(format!(
        "malformed {hook} input on line {number}: expected `{expected}` (as git writes it to \
         the {hook} hook's standard input)"
    ))
}

/// Parses git's pre-push lines. Blank lines are skipped; any other malformed line is an error
/// naming its number (not its content).
pub fn parse_pre_push(input: &str) -> Result<Vec<PushLine>> {
    const EXPECTED: &str = "<local ref> <local sha> <remote ref> <remote sha>";
    let mut lines = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let words: Vec<&str> = line.split_ascii_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        let [local_ref, local, remote_ref, remote] = words[..] else {
            return Err(malformed("pre-push", i + 1, EXPECTED));
        };
        let (Some(local), Some(remote)) = (parse_oid(local), parse_oid(remote)) else {
            return Err(malformed("pre-push", i + 1, EXPECTED));
        };
        lines.push(PushLine {
            local_ref: local_ref.to_string(),
            local,
            remote_ref: remote_ref.to_string(),
            remote,
        });
    }
    Ok(lines)
}

/// Parses git's pre-receive lines. Blank lines are skipped; any other malformed line is an
/// error naming its number (not its content).
pub fn parse_pre_receive(input: &str) -> Result<Vec<ReceiveLine>> {
    const EXPECTED: &str = "<old sha> <new sha> <ref>";
    let mut lines = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let words: Vec<&str> = line.split_ascii_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        let [old, new, refname] = words[..] else {
            return Err(malformed("pre-receive", i + 1, EXPECTED));
        };
        let (Some(old), Some(new)) = (parse_oid(old), parse_oid(new)) else {
            return Err(malformed("pre-receive", i + 1, EXPECTED));
        };
        lines.push(ReceiveLine { old, new, refname: refname.to_string() });
    }
    Ok(lines)
}

/// The commit `oid` leads to (peeling tags), `None` when it is not in the repository or does
/// not lead to a commit (a tag of a tree or blob has no commits to scan).
fn commit_of(repo: &Repository, oid: Oid) -> Option<Oid> {
    repo.find_object(oid, None).ok()?.peel(ObjectType::Commit).ok().map(|c| c.id())
}

/// The commit a pushed object leads to: an error when git said it pushes an object that the
/// repository does not hold, `None` when it leads to no commit. The annotated tags on the way
/// (a pushed tag, and any tag it points to) are added to `tags`.
fn pushed_commit(
    repo: &Repository,
    oid: Oid,
    hook: &str,
    tags: &mut Vec<Oid>,
) -> Result<Option<Oid>> {
    let obj = repo.find_object(oid, None).map_err(Error::git(format!(
        "the {hook} input names object {oid}, which is not in the repository"
    )))?;
    let mut at = obj.clone();
    for _ in 0..64 {
        match at.as_tag() {
            Some(tag) => {
                tags.push(at.id());
                match tag.target() {
                    Ok(next) => at = next,
                    Err(_) => break,
                }
            }
            None => break,
        }
    }
    Ok(obj.peel(ObjectType::Commit).ok().map(|c| c.id()))
}

/// Commits that the refs under `prefix` (all refs when empty) point at, peeled.
fn ref_tips(repo: &Repository, glob: Option<&str>) -> Result<Vec<Oid>> {
    let refs = match glob {
        Some(g) => repo.references_glob(g),
        None => repo.references(),
    }
    .map_err(Error::git("cannot list the references"))?;
    let mut tips = Vec::new();
    for r in refs {
        let r = r.map_err(Error::git("cannot read a reference"))?;
        if let Ok(c) = r.peel(ObjectType::Commit) {
            tips.push(c.id());
        }
    }
    Ok(tips)
}

fn finish(mut revs: Revisions) -> Revisions {
    revs.include.sort();
    revs.include.dedup();
    revs.exclude.sort();
    revs.exclude.dedup();
    revs.tags.sort();
    revs.tags.dedup();
    if revs.include.is_empty() {
        revs.exclude.clear();
    }
    revs
}

/// The commits a pre-push hook's lines push: reachable from each pushed tip, not from what the
/// remote had for that ref, nor from any remote-tracking ref (`refs/remotes/*`: commits the
/// remote, or another one, already has; for a new branch this is all that is left out).
/// Deletions push nothing.
pub fn pre_push_revisions(repo: &Repository, lines: &[PushLine]) -> Result<Revisions> {
    let mut revs = Revisions::default();
    for line in lines {
        if is_zero(line.local) {
            continue;
        }
        // A tag the remote already has at that name is not sent again.
        let mut tags = Vec::new();
        let pushed = pushed_commit(repo, line.local, "pre-push", &mut tags)?;
        if line.local != line.remote {
            revs.tags.extend(tags);
        }
        if let Some(c) = pushed {
            revs.include.push(c);
        }
        if !is_zero(line.remote) {
            // Unknown locally when the remote moved on (a forced push replaces it).
            revs.exclude.extend(commit_of(repo, line.remote));
        }
    }
    if !revs.include.is_empty() {
        revs.exclude.extend(ref_tips(repo, Some("refs/remotes/*"))?);
    }
    Ok(finish(revs))
}

/// The commits a pre-receive hook's lines bring in: reachable from each new tip, not from any
/// ref the repository already has (refs are not updated yet while pre-receive runs), nor from
/// the ref's old value. Deletions bring nothing.
pub fn pre_receive_revisions(repo: &Repository, lines: &[ReceiveLine]) -> Result<Revisions> {
    let mut revs = Revisions::default();
    for line in lines {
        if is_zero(line.new) {
            continue;
        }
        let mut tags = Vec::new();
        let pushed = pushed_commit(repo, line.new, "pre-receive", &mut tags)?;
        if line.new != line.old {
            revs.tags.extend(tags);
        }
        if let Some(c) = pushed {
            revs.include.push(c);
        }
        if !is_zero(line.old) {
            revs.exclude.extend(commit_of(repo, line.old));
        }
    }
    if !revs.include.is_empty() {
        revs.exclude.extend(ref_tips(repo, None)?);
    }
    Ok(finish(revs))
}

/// What the pre-commit framework says is pushed, from the variables it exports to pre-push
/// hooks (it runs hooks with an empty standard input): `PRE_COMMIT_FROM_REF` ..
/// `PRE_COMMIT_TO_REF`, or, when the push reaches a root commit, `PRE_COMMIT_LOCAL_BRANCH`.
/// `None` when the variables are not set. `var` reads a variable (the environment, in use).
pub fn framework_revisions(
    repo: &Repository,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<Revisions>> {
    let resolve = |name: &str, spec: &str| -> Result<Oid> {
        let obj = repo.revparse_single(spec).map_err(Error::git(format!(
            "{name} names `{}`, which is not in the repository",
            crate::sanitize::for_terminal(spec)
        )))?;
        obj.peel(ObjectType::Commit)
            .map(|c| c.id())
            .map_err(Error::git(format!("{name} does not lead to a commit")))
    };
    let mut revs = Revisions::default();
    match (var("PRE_COMMIT_FROM_REF"), var("PRE_COMMIT_TO_REF")) {
        (Some(from), Some(to)) if !from.is_empty() && !to.is_empty() => {
            revs.include.push(resolve("PRE_COMMIT_TO_REF", &to)?);
            if let Some(from) = parse_oid(&from).filter(|o| !is_zero(*o)) {
                revs.exclude.extend(commit_of(repo, from));
            } else {
                revs.exclude.push(resolve("PRE_COMMIT_FROM_REF", &from)?);
            }
        }
        _ => match var("PRE_COMMIT_LOCAL_BRANCH") {
            Some(local) if !local.is_empty() => {
                revs.include.push(resolve("PRE_COMMIT_LOCAL_BRANCH", &local)?)
            }
            _ => return Ok(None),
        },
    }
    revs.exclude.extend(ref_tips(repo, Some("refs/remotes/*"))?);
    Ok(Some(finish(revs)))
}

/// A repository that sees the objects of a push held in quarantine.
///
/// While pre-receive runs, git keeps the pushed objects in a quarantine folder that only the
/// hook's environment names (`GIT_OBJECT_DIRECTORY`, with the repository's own objects in
/// `GIT_ALTERNATE_OBJECT_DIRECTORIES`). A handle opened from the repository's path alone, as
/// the history scan's parallel workers open theirs, does not see them. This view is a
/// throw-away bare repository in the temp folder whose `objects/info/alternates` lists those
/// folders, so that every handle opened from its path sees every object. It holds no refs
/// (compute the commits with the real repository) and is deleted when dropped.
pub struct QuarantineView {
    /// The view, to scan commits with (declared first: closed before its folder goes).
    pub repo: Repository,
    _dir: TempFolder,
}

/// A folder removed when dropped.
struct TempFolder(std::path::PathBuf);

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl QuarantineView {
    /// A view for the quarantine that `var` (the environment, in use) names, or `None` outside
    /// a quarantine.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Option<QuarantineView>> {
        let Some(objects) = var("GIT_OBJECT_DIRECTORY").filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let cwd = std::env::current_dir().unwrap_or_default();
        let mut list = String::new();
        let alternates = var("GIT_ALTERNATE_OBJECT_DIRECTORIES").unwrap_or_default();
        for d in std::iter::once(objects.as_str()).chain(alternates.split(':')) {
            if !d.is_empty() {
                list.push_str(&cwd.join(d).to_string_lossy());
                list.push('\n');
            }
        }
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = TempFolder(
            std::env::temp_dir()
                .join(format!("tokenguard-quarantine-{}-{stamp}", std::process::id())),
        );
        let context = "cannot prepare a view of the pushed objects";
        std::fs::create_dir(&dir.0)
            .map_err(|source| Error::Read { path: dir.0.clone(), source })?;
        drop(Repository::init_bare(&dir.0).map_err(Error::git(context))?);
        std::fs::write(dir.0.join("objects/info/alternates"), list)
            .map_err(|source| Error::Read { path: dir.0.clone(), source })?;
        let repo = Repository::open_bare(&dir.0).map_err(Error::git(context))?;
        Ok(Some(QuarantineView { repo, _dir: dir }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const Z: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn pre_push_lines_parse_and_blank_lines_are_skipped() {
        let lines = parse_pre_push(&format!(
            "refs/heads/main {A} refs/heads/main {B}\n\n(delete) {Z} refs/heads/old {A}\n"
        ))
        .unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].local_ref, "refs/heads/main");
        assert_eq!(lines[0].local, Oid::from_str(A).unwrap());
        assert!(is_zero(lines[1].local));
    }

    #[test]
    fn malformed_pre_push_lines_name_the_line_and_not_its_content() {
        for bad in [
            format!("refs/heads/main {A} refs/heads/main"),
            format!("refs/heads/main {A} refs/heads/main {B} extra"),
            format!("refs/heads/main nothex refs/heads/main {B}"),
            format!("refs/heads/main {} refs/heads/main {B}", &A[..39]),
        ] {
            let input = format!("\nrefs/heads/x {A} refs/heads/x {B}\n{bad}\n");
            let e = parse_pre_push(&input).unwrap_err().to_string();
            assert!(e.contains("line 3"), "{e}");
            assert!(!e.contains("refs/heads/main"), "{e}");
        }
    }

    #[test]
    fn pre_receive_lines_parse() {
        let lines = parse_pre_receive(&format!("{Z} {A} refs/heads/new\n{A} {Z} refs/tags/gone\n"))
            .unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].refname, "refs/heads/new");
        assert!(is_zero(lines[0].old) && is_zero(lines[1].new));
        assert!(parse_pre_receive(&format!("{A} {B}\n")).is_err());
        assert!(parse_pre_receive(&format!("{A} {B} refs/heads/x y\n")).is_err());
    }
}
