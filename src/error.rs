//! The library's error type. Messages name the cause (a path, a key, a line) and never
//! contain scanned content, so no error can carry a secret.

use std::path::PathBuf;

/// Everything that can go wrong in tokenguard. `main` maps every variant to exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder could not be read.
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A path given on the command line does not exist.
    #[error("no such file or folder: {0}")]
    NoSuchPath(PathBuf),
    /// Writing a report, a file or the masked stream failed.
    #[error("cannot write {}", path.as_ref().map_or_else(|| "output".to_string(), |p| p.display().to_string()))]
    Write {
        /// The file written, if not standard output.
        path: Option<PathBuf>,
        #[source]
        source: std::io::Error,
    },
    /// The configuration is invalid.
    #[error("invalid configuration in {path}: {message}")]
    Config { path: PathBuf, message: String },
    /// A git operation failed.
    #[error("{context}")]
    Git {
        context: String,
        #[source]
        source: git2::Error,
    },
    /// The current folder (or the one given) is not inside a git repository.
    #[error("not a git repository: {0}")]
    NotARepository(PathBuf),
    /// Input that the tool cannot accept (a malformed hook line, a bad argument).
    #[error("{0}")]
    Invalid(String),
    /// Some inputs could not be scanned; the scan went on and reported the rest.
    #[error("{0} input(s) could not be scanned (see the messages above)")]
    Incomplete(usize),
    /// A git object that a scan needs is missing or damaged. The scan stops: what it could
    /// not read may hold a token.
    #[error("{0}")]
    Object(Box<ObjectError>),
    /// A pack file or its index is damaged (or of a form that cannot be read safely).
    #[error("damaged pack {path}: {reason}")]
    Pack { path: PathBuf, reason: String },
    /// A ref that cannot be resolved to an object (a history scan cannot tell what it holds).
    #[error("cannot resolve the ref {name}: {reason}")]
    Ref { name: String, reason: String },
}

/// Why an object cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Not in the repository.
    Missing,
    /// Its stored form is damaged (what is wrong, and where).
    Damaged(String),
    /// It is another kind of object than the one that refers to it says.
    WrongKind(git2::ObjectType),
    /// libgit2 could not read it (its message, without its error codes).
    Unreadable(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Missing => f.write_str("is not in the repository"),
            Problem::Damaged(what) => write!(f, "is damaged ({what})"),
            Problem::WrongKind(kind) => write!(f, "is a {kind}"),
            Problem::Unreadable(why) => write!(f, "cannot be read ({why})"),
        }
    }
}

/// A git object that could not be read, with where the scan met it: the path in the
/// commit's tree, the commit, and a ref that reaches the commit, as far as known.
#[derive(Debug)]
pub struct ObjectError {
    /// The object's id.
    pub id: git2::Oid,
    /// What the object should be.
    pub kind: git2::ObjectType,
    /// Why it cannot be read.
    pub problem: Problem,
    /// Its path in the commit's tree (a tree or blob), `/`-separated.
    pub path: Option<String>,
    /// The commit being scanned (for a commit object: the child it is a parent of).
    pub commit: Option<git2::Oid>,
    /// A ref (or revision) that the commit is reachable from.
    pub reachable_from: Option<String>,
}

impl std::fmt::Display for ObjectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            git2::ObjectType::Any => "object".to_string(),
            k => k.to_string(),
        };
        match (&self.path, self.commit.filter(|c| *c != self.id)) {
            (Some(path), commit) => {
                let path = if path.is_empty() { "the root folder" } else { path };
                write!(f, "cannot read the {kind} of {path}")?;
                if let Some(c) = commit {
                    write!(f, " in commit {c}")?;
                }
            }
            (None, Some(c)) if self.kind == git2::ObjectType::Commit => {
                write!(f, "cannot read commit {}, a parent of commit {c}", self.id)?
            }
            (None, Some(c)) => write!(f, "cannot read the {kind} {} of commit {c}", self.id)?,
            (None, None) => write!(f, "cannot read {kind} {}", self.id)?,
        }
        if let Some(r) = &self.reachable_from {
            write!(f, " (reachable from {r})")?;
        }
        match self.path {
            Some(_) => write!(f, ": object {} {}", self.id, self.problem),
            None => write!(f, ": it {}", self.problem),
        }
    }
}

impl Error {
    /// Wraps a git2 error with a sentence saying what was being done.
    pub fn git(context: impl Into<String>) -> impl FnOnce(git2::Error) -> Error {
        let context = context.into();
        move |source| Error::Git { context, source }
    }

    /// An object that cannot be read (`kind` is what it should be).
    pub fn object(id: git2::Oid, kind: git2::ObjectType, problem: Problem) -> Error {
        Error::Object(Box::new(ObjectError {
            id,
            kind,
            problem,
            path: None,
            commit: None,
            reachable_from: None,
        }))
    }

    /// An object libgit2 could not read: missing, or its message without the error codes.
    pub fn from_git_read(id: git2::Oid, kind: git2::ObjectType, e: &git2::Error) -> Error {
        let problem = match e.code() {
            git2::ErrorCode::NotFound => Problem::Missing,
            _ => Problem::Unreadable(e.message().to_string()),
        };
        Error::object(id, kind, problem)
    }

    /// Adds the path of the object in the commit's tree, when the error is an object's and
    /// has none yet (the innermost path is the object's own).
    pub fn at_path(mut self, path: &[u8]) -> Error {
        if let Error::Object(o) = &mut self {
            o.path.get_or_insert_with(|| String::from_utf8_lossy(path).into_owned());
        }
        self
    }

    /// Adds the commit being scanned, when the error is an object's and has none yet.
    pub fn in_commit(mut self, commit: git2::Oid) -> Error {
        if let Error::Object(o) = &mut self {
            o.commit.get_or_insert(commit);
        }
        self
    }

    /// The commit this error is about, if it is an object's error with a commit.
    pub fn commit(&self) -> Option<git2::Oid> {
        match self {
            Error::Object(o) => o.commit.or((o.kind == git2::ObjectType::Commit).then_some(o.id)),
            _ => None,
        }
    }

    /// Adds a ref that reaches the commit, when the error is an object's and has none yet.
    pub fn reachable_from(mut self, name: impl Into<String>) -> Error {
        if let Error::Object(o) = &mut self {
            o.reachable_from.get_or_insert_with(|| name.into());
        }
        self
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
