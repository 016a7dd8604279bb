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
}

impl Error {
    /// Wraps a git2 error with a sentence saying what was being done.
    pub fn git(context: impl Into<String>) -> impl FnOnce(git2::Error) -> Error {
        let context = context.into();
        move |source| Error::Git { context, source }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
