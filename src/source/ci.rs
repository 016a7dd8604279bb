//! `scan --ci`: what to scan, worked out from the CI system's own variables, so that no user
//! writes range logic. GitHub Actions (the event file that `GITHUB_EVENT_PATH` names) and
//! GitLab CI (`CI_*` variables) are known; docs/ci.md has the table of what each case scans.
//!
//! The result is a [`Revisions`] like `scan --history` takes. When the commits needed are not
//! in the repository (a shallow clone, a default branch not fetched), the answer is an error
//! that says what to fetch: scanning a shallow clone's boundary would report every token of
//! the files at that point as added there.

use std::collections::HashSet;

use git2::{ObjectType, Oid, Repository};
use serde_json::Value;

use crate::source::git::objects::Pool;
use crate::source::git::revs::list_commits;
use crate::source::history::{all_refs, Revisions};
use crate::{Error, Result};

/// A CI system that `scan --ci` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    /// GitHub Actions (`GITHUB_ACTIONS=true`).
    GitHub,
    /// GitLab CI (`GITLAB_CI` set: GitLab sets `true`, gitlab-ci-local `false`).
    GitLab,
}

impl System {
    /// The system's name, as the notes say it.
    pub fn name(self) -> &'static str {
        match self {
            System::GitHub => "GitHub Actions",
            System::GitLab => "GitLab CI",
        }
    }

    /// What to set so that the job fetches the whole history.
    fn fetch_advice(self) -> &'static str {
        match self {
            System::GitHub => "set `fetch-depth: 0` on actions/checkout",
            System::GitLab => "set the variable `GIT_DEPTH: 0` on the job",
        }
    }
}

/// What a CI scan covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiScan {
    /// The CI system found.
    pub system: System,
    /// What the job is about and which commits that means, in a few words (for the log).
    pub what: String,
    /// Anything the user should know about the choice (a fallback taken).
    pub notes: Vec<String>,
    /// The commits to scan.
    pub revisions: Revisions,
}

/// The CI system that `var` (the environment, in use) shows, if any.
pub fn detect(var: &impl Fn(&str) -> Option<String>) -> Option<System> {
    if var("GITHUB_ACTIONS").as_deref() == Some("true") {
        Some(System::GitHub)
    } else if var("GITLAB_CI").is_some_and(|v| !v.is_empty()) {
        Some(System::GitLab)
    } else {
        None
    }
}

/// The commits a CI job should scan. `var` reads a variable (the environment, in use);
/// `event` is the content of the file that `GITHUB_EVENT_PATH` names (GitHub only; the caller
/// reads it). An error when no known CI system is found, when the variables are incomplete,
/// or when the commits needed are not in the repository.
pub fn revisions(
    repo: &Repository,
    var: impl Fn(&str) -> Option<String>,
    event: Option<&str>,
) -> Result<CiScan> {
    let var = |k: &str| var(k).filter(|v| !v.is_empty());
    let system = detect(&var).ok_or_else(|| {
        Error::Invalid(
            "--ci: no known CI system here (GitHub Actions sets GITHUB_ACTIONS=true, GitLab CI \
             sets GITLAB_CI); elsewhere name the commits: `tokenguard scan --history BASE..HEAD`"
                .into(),
        )
    })?;
    let ctx = Ctx { repo, system };
    let scan = match system {
        System::GitHub => github(&ctx, &var, event)?,
        System::GitLab => gitlab(&ctx, &var)?,
    };
    ctx.check_fetched(&scan.revisions)?;
    Ok(scan)
}

struct Ctx<'a> {
    repo: &'a Repository,
    system: System,
}

/// A plan before its commits are resolved: scan `include` minus `exclude`.
enum Plan {
    /// Commits of `head` that `base` lacks (a push, a pull or merge request); all of them
    /// when `base` is empty. `default` is the default branch, for when `base` is gone.
    Range { base: String, head: String, base_from: &'static str, default: Option<String> },
    /// Commits of `head` that the default branch lacks (a new branch, a tag).
    NotOnDefault { head: String, default: String },
    /// Everything fetched (a scheduled or manual run).
    Everything,
    /// Nothing (a deleted branch).
    Nothing,
}

fn is_zero(sha: &str) -> bool {
    sha.bytes().all(|b| b == b'0')
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

fn github(ctx: &Ctx, var: &impl Fn(&str) -> Option<String>, event: Option<&str>) -> Result<CiScan> {
    let name = var("GITHUB_EVENT_NAME").ok_or_else(|| {
        Error::Invalid("--ci: GITHUB_ACTIONS is set but GITHUB_EVENT_NAME is not".into())
    })?;
    let event: Value = match event {
        Some(text) => serde_json::from_str(text).map_err(|e| {
            Error::Invalid(format!(
                "--ci: the event file that GITHUB_EVENT_PATH names is not JSON ({e})"
            ))
        })?,
        None => Value::Null,
    };
    let field = |path: &[&str]| -> Option<String> {
        let mut v = &event;
        for key in path {
            v = v.get(key)?;
        }
        v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
    };
    let needed = |path: &[&str]| -> Result<String> {
        field(path).ok_or_else(|| {
            Error::Invalid(format!(
                "--ci: the {name} event has no `{}` (GITHUB_EVENT_PATH should name the event \
                 file that GitHub writes)",
                path.join(".")
            ))
        })
    };
    let default_branch = field(&["repository", "default_branch"]);
    let (what, plan) = match name.as_str() {
        "push" => {
            let after = needed(&["after"])?;
            let before = field(&["before"]).unwrap_or_else(|| "0".repeat(40));
            let pushed = field(&["ref"]).or_else(|| var("GITHUB_REF")).unwrap_or_default();
            let plan = if is_zero(&after) {
                Plan::Nothing
            } else if is_zero(&before) {
                new_ref_plan(ctx, after, &pushed, default_branch)?
            } else {
                Plan::Range {
                    base: before,
                    head: after,
                    base_from: "the push event's `before`",
                    default: default_branch,
                }
            };
            (format!("push to {pushed}"), plan)
        }
        "pull_request" | "pull_request_target" => {
            let base = needed(&["pull_request", "base", "sha"])?;
            let head = needed(&["pull_request", "head", "sha"])?;
            let number = event
                .pointer("/pull_request/number")
                .or_else(|| event.get("number"))
                .and_then(Value::as_u64)
                .map(|n| format!(" #{n}"))
                .unwrap_or_default();
            (
                format!("pull request{number}"),
                Plan::Range {
                    base,
                    head,
                    base_from: "the pull request's base",
                    default: default_branch,
                },
            )
        }
        "merge_group" => {
            let base = needed(&["merge_group", "base_sha"])?;
            let head = needed(&["merge_group", "head_sha"])?;
            (
                "merge group".to_string(),
                Plan::Range {
                    base,
                    head,
                    base_from: "the merge group's base",
                    default: default_branch,
                },
            )
        }
        other => (format!("{other} event"), Plan::Everything),
    };
    resolve(ctx, what, plan)
}

fn gitlab(ctx: &Ctx, var: &impl Fn(&str) -> Option<String>) -> Result<CiScan> {
    let head = var("CI_COMMIT_SHA")
        .ok_or_else(|| Error::Invalid("--ci: GITLAB_CI is set but CI_COMMIT_SHA is not".into()))?;
    let source = var("CI_PIPELINE_SOURCE").unwrap_or_default();
    let default = var("CI_DEFAULT_BRANCH");
    let mr_base = var("CI_MERGE_REQUEST_DIFF_BASE_SHA");
    let (what, plan) = if let Some(base) = mr_base.clone() {
        let iid = var("CI_MERGE_REQUEST_IID").map(|i| format!(" !{i}")).unwrap_or_default();
        (
            format!("merge request{iid}"),
            Plan::Range { base, head, base_from: "CI_MERGE_REQUEST_DIFF_BASE_SHA", default },
        )
    } else if let Some(tag) = var("CI_COMMIT_TAG") {
        (format!("tag {tag}"), new_ref_plan(ctx, head, &format!("refs/tags/{tag}"), default)?)
    } else if matches!(source.as_str(), "push" | "merge_request_event" | "") {
        let branch = var("CI_COMMIT_BRANCH").or_else(|| var("CI_COMMIT_REF_NAME"));
        let pushed = branch.map(|b| format!("refs/heads/{b}")).unwrap_or_default();
        let plan = match var("CI_COMMIT_BEFORE_SHA").filter(|b| !is_zero(b)) {
            Some(before) => {
                Plan::Range { base: before, head, base_from: "CI_COMMIT_BEFORE_SHA", default }
            }
            None => new_ref_plan(ctx, head, &pushed, default)?,
        };
        (format!("push to {pushed}"), plan)
    } else {
        (format!("{source} pipeline"), Plan::Everything)
    };
    let mut scan = resolve(ctx, what, plan)?;
    // A merged-results pipeline's commit merges the source into the target's tip: what the
    // target gained since the diff base was scanned on the target.
    if mr_base.is_some() {
        let target = var("CI_MERGE_REQUEST_TARGET_BRANCH_SHA").and_then(|t| ctx.find_commit(&t));
        scan.revisions.exclude.extend(target);
    }
    Ok(scan)
}

/// A ref that did not exist before: its commits that the default branch lacks, or, when it
/// is the default branch itself (a repository's first push), all of them.
fn new_ref_plan(ctx: &Ctx, head: String, pushed: &str, default: Option<String>) -> Result<Plan> {
    let default = default.or_else(|| remote_head(ctx.repo)).ok_or_else(|| {
        Error::Invalid(format!(
            "--ci: a new branch or tag is scanned against the default branch, but {} does not \
             name it",
            match ctx.system {
                System::GitHub => "the event's `repository.default_branch`",
                System::GitLab => "CI_DEFAULT_BRANCH",
            }
        ))
    })?;
    if pushed == format!("refs/heads/{default}") {
        return Ok(Plan::Range { base: String::new(), head, base_from: "", default: None });
    }
    Ok(Plan::NotOnDefault { head, default })
}

/// The branch that `refs/remotes/origin/HEAD` points at, if the clone has it.
fn remote_head(repo: &Repository) -> Option<String> {
    let r = repo.find_reference("refs/remotes/origin/HEAD").ok()?;
    let target = r.symbolic_target()?;
    target.strip_prefix("refs/remotes/origin/").map(str::to_string)
}

fn resolve(ctx: &Ctx, what: String, plan: Plan) -> Result<CiScan> {
    let mut notes = Vec::new();
    let mut revs = Revisions::default();
    let what = match plan {
        Plan::Nothing => format!("{what}: a deletion, nothing to scan"),
        Plan::Everything => {
            revs = all_refs(ctx.repo)?;
            format!("{what}: every commit fetched")
        }
        Plan::Range { base, head, base_from, default } => {
            let head_id = ctx.commit(&head, "the commit to scan")?;
            revs.include.push(head_id);
            if base.is_empty() {
                format!("{what}: every commit of {}", short(&head))
            } else {
                match ctx.find_commit(&base) {
                    Some(b) => {
                        revs.exclude.push(b);
                        format!("{what}: {}..{}", short(&base), short(&head))
                    }
                    None if ctx.repo.is_shallow() => return Err(ctx.not_fetched(&base, base_from)),
                    None => {
                        // Not shallow, so the commit is gone from the server: a forced push
                        // replaced it. What the branch has that the default branch lacks is
                        // the best answer left.
                        let default = default
                            .or_else(|| remote_head(ctx.repo))
                            .ok_or_else(|| ctx.not_fetched(&base, base_from))?;
                        notes.push(format!(
                            "{base_from} ({}) is not in the repository (a forced push replaced \
                             it): scanning the commits that {default} lacks instead",
                            short(&base)
                        ));
                        revs.exclude.push(ctx.default_tip(&default)?);
                        format!("{what}: the commits of {} that {default} lacks", short(&head))
                    }
                }
            }
        }
        Plan::NotOnDefault { head, default } => {
            let head_id = ctx.commit(&head, "the commit to scan")?;
            let tip = ctx.default_tip(&default)?;
            revs.include.push(head_id);
            revs.exclude.push(tip);
            format!("{what}: new, the commits of {} that {default} lacks", short(&head))
        }
    };
    Ok(CiScan { system: ctx.system, what, notes, revisions: revs })
}

impl Ctx<'_> {
    fn find_commit(&self, spec: &str) -> Option<Oid> {
        let obj = match Oid::from_str(spec) {
            Ok(id) if spec.len() == 40 => self.repo.find_object(id, None).ok()?,
            _ => self.repo.revparse_single(spec).ok()?,
        };
        obj.peel(ObjectType::Commit).ok().map(|c| c.id())
    }

    fn commit(&self, spec: &str, role: &str) -> Result<Oid> {
        self.find_commit(spec).ok_or_else(|| self.not_fetched(spec, role))
    }

    fn not_fetched(&self, spec: &str, role: &str) -> Error {
        let shallow = if self.repo.is_shallow() { " (this is a shallow clone)" } else { "" };
        Error::Invalid(format!(
            "--ci: {role} ({}) is not in the repository{shallow}: the history needed is not \
             fetched; {}",
            crate::sanitize::for_terminal(short(spec)),
            self.system.fetch_advice()
        ))
    }

    /// The default branch's tip, from the remote-tracking ref or the local branch.
    fn default_tip(&self, branch: &str) -> Result<Oid> {
        for name in [format!("refs/remotes/origin/{branch}"), format!("refs/heads/{branch}")] {
            if let Some(c) = self
                .repo
                .find_reference(&name)
                .ok()
                .and_then(|r| r.peel(ObjectType::Commit).ok().map(|c| c.id()))
            {
                return Ok(c);
            }
        }
        let fetch = match self.system {
            System::GitHub => "set `fetch-depth: 0` on actions/checkout (it fetches every branch)",
            System::GitLab => {
                "fetch it first: `git fetch origin \
                 \"+refs/heads/$CI_DEFAULT_BRANCH:refs/remotes/origin/$CI_DEFAULT_BRANCH\"` \
                 (the tokenguard template does), with `GIT_DEPTH: 0`"
            }
        };
        Err(Error::Invalid(format!(
            "--ci: the default branch `{}` is not in the repository (no \
             refs/remotes/origin/{0}); the history needed is not fetched; {fetch}",
            crate::sanitize::for_terminal(branch)
        )))
    }

    /// An error when the commits to scan reach a shallow clone's boundary (their parents are
    /// missing, so every token of the files there would look added by them).
    fn check_fetched(&self, revs: &Revisions) -> Result<()> {
        if !self.repo.is_shallow() || revs.include.is_empty() {
            return Ok(());
        }
        let boundary = shallow_commits(self.repo);
        let commits = list_commits(&Pool::open(self.repo)?, &revs.include, &revs.exclude)?;
        if let Some(c) = commits.iter().find(|c| boundary.contains(c)) {
            return Err(Error::Invalid(format!(
                "--ci: this is a shallow clone and the commits to scan reach its boundary \
                 (commit {} has no parents fetched): the history needed is not fetched; {}",
                short(&c.to_string()),
                self.system.fetch_advice()
            )));
        }
        Ok(())
    }
}

/// The boundary commits of a shallow clone (`$GIT_DIR/shallow`).
fn shallow_commits(repo: &Repository) -> HashSet<Oid> {
    let text = std::fs::read_to_string(repo.commondir().join("shallow")).unwrap_or_default();
    text.lines().filter_map(|l| Oid::from_str(l.trim()).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn detects_the_system_from_its_own_variables() {
        assert_eq!(detect(&vars(&[("GITHUB_ACTIONS", "true")])), Some(System::GitHub));
        assert_eq!(detect(&vars(&[("GITLAB_CI", "true")])), Some(System::GitLab));
        // gitlab-ci-local sets GITLAB_CI=false: it is still GitLab's variables.
        assert_eq!(detect(&vars(&[("GITLAB_CI", "false")])), Some(System::GitLab));
        assert_eq!(detect(&vars(&[("CI", "true")])), None);
        assert_eq!(detect(&vars(&[("GITHUB_ACTIONS", "false")])), None);
    }

    #[test]
    fn zeros_are_a_missing_commit() {
        assert!(is_zero(&"0".repeat(40)));
        assert!(!is_zero("0000a"));
    }
}
