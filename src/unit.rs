//! Units: what a source yields and the pipeline scans. A unit is content with its origin
//! (the file as shown, its path relative to the work tree root, the commit); a source never
//! scans and never sees a finding.

use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::sync::Arc;

use serde::Serialize;

/// The commit a unit belongs to (history and push scans). Its subject and author are text
/// from the repository: reports print them through the masking writer like everything else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitInfo {
    /// Full commit id.
    pub commit: String,
    /// Author as `Name <email>`.
    pub author: String,
    /// Author date, ISO 8601.
    pub date: String,
    /// First line of the commit message.
    pub subject: String,
    /// Commit time (seconds since the epoch), for ordering; not reported.
    #[serde(skip)]
    pub time: i64,
}

/// Where scanned content comes from.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The file as reports show it (`-` for standard input, `commit message` for a commit's
    /// message).
    pub file: Arc<str>,
    /// The file relative to the work tree root, `/`-separated (what `[allow] paths` globs
    /// see); `None` for standard input, messages and files outside the root.
    pub rel_path: Option<String>,
    /// The commit, for history and push scans.
    pub commit: Option<Arc<CommitInfo>>,
}

impl Origin {
    /// An origin for `file`, a path relative to the work tree root (staged, history and push
    /// scans), with no commit.
    pub fn new(file: impl AsRef<str>) -> Origin {
        let file = file.as_ref();
        Origin { rel_path: Some(file.to_string()), file: file.into(), commit: None }
    }

    /// An origin for a path as the user gave it, with its path relative to the work tree root
    /// when it lies under the root.
    pub fn given(file: impl AsRef<str>, rel_path: Option<String>) -> Origin {
        Origin { file: file.as_ref().into(), rel_path, commit: None }
    }

    /// The same origin attributed to `commit`.
    pub fn with_commit(mut self, commit: Arc<CommitInfo>) -> Origin {
        self.commit = Some(commit);
        self
    }
}

/// The lines a change adds, with some lines of context around them, joined with newlines,
/// each with its line number in the new file and whether it is added.
#[derive(Debug, Default, Clone)]
pub struct AddedLines {
    buf: Vec<u8>,
    /// Offset in `buf` where each line starts, its number, and whether it is added.
    starts: Vec<(usize, u64, bool)>,
    added: usize,
}

impl AddedLines {
    /// Appends added line `number` (its content without the line end).
    pub fn push(&mut self, number: u64, content: &[u8]) {
        self.push_line(number, content, true);
    }

    /// Appends line `number`, added or context.
    pub fn push_line(&mut self, number: u64, content: &[u8], added: bool) {
        self.starts.push((self.buf.len(), number, added));
        self.added += usize::from(added);
        self.buf.extend_from_slice(content);
        self.buf.push(b'\n');
    }

    /// Every line of `text`, numbered from 1.
    pub fn all_of(text: &[u8]) -> AddedLines {
        let mut added = AddedLines::default();
        for (n, line) in text.split_inclusive(|&b| b == b'\n').enumerate() {
            added.push(n as u64 + 1, strip_eol(line));
        }
        added
    }

    /// Whether no line was added.
    pub fn is_empty(&self) -> bool {
        self.added == 0
    }

    /// The joined text.
    pub fn text(&self) -> &[u8] {
        &self.buf
    }

    /// Where offset `at` (in [`AddedLines::text`]) stands: its line number, 1-based column,
    /// the line's range in the text, and whether the line is added.
    pub fn locate(&self, at: usize) -> (u64, u64, Range<usize>, bool) {
        let i = self.starts.partition_point(|&(s, _, _)| s <= at) - 1;
        let (start, number, added) = self.starts[i];
        let end = self.starts.get(i + 1).map_or(self.buf.len(), |&(s, _, _)| s) - 1;
        (number, (at - start) as u64 + 1, start..end, added)
    }
}

/// A line's content without its line end (`\n` or `\r\n`).
pub fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// What a unit holds.
pub enum Content<'a> {
    /// A whole input, read to its end with bounded memory (standard input, a pipe).
    Reader(Box<dyn Read + 'a>),
    /// A whole file: mapped and searched on every core when large, else read as a stream.
    File(File),
    /// Bytes in memory, every line new (a blob, a commit message).
    Bytes(&'a [u8]),
    /// The lines a change adds, with text around them that gives keyed formats their context
    /// (a `- name: DT_API_TOKEN` line above an added `value:` line): a token is reported when
    /// it stands in an added line.
    Added(&'a AddedLines),
    /// Binary content: tokens reported by byte offset, those of `old` (its previous version)
    /// left out.
    Binary {
        /// The new content.
        new: &'a [u8],
        /// The old content, if the file existed.
        old: Option<&'a [u8]>,
    },
}

/// Content with its origin: what a source yields.
pub struct Unit<'a> {
    /// Where it comes from.
    pub origin: Origin,
    /// What to scan.
    pub content: Content<'a>,
}

/// Git's test for binary content: a NUL byte in the first 8000 bytes.
pub fn is_binary(content: &[u8]) -> bool {
    memchr::memchr(0, &content[..content.len().min(8000)]).is_some()
}

/// An object id of the repository (a blob, a commit).
pub type ObjectId = git2::Oid;

/// A file a commit changed: its path, the new blob, and the blob at the same path in the first
/// parent (`None` when the path held no file there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// The path, relative to the repository's root.
    pub path: String,
    /// The blob the commit put there.
    pub new: ObjectId,
    /// The first parent's blob at the path, if any.
    pub old: Option<ObjectId>,
}

/// The file name reports show for an annotated tag's message.
pub const TAG_MESSAGE: &str = "tag message";

/// A blob's content as a source hands it over: whole, or, when it is large, as a stream read
/// once, so that memory stays bounded whatever its size.
pub enum Blob {
    /// The whole content.
    Bytes(Arc<Vec<u8>>),
    /// The content as a stream. A read fails with an `io::Error` that wraps a
    /// [`crate::Error`] when what was read does not check out (a damaged object), at the
    /// latest before the end is reported.
    Stream(Box<dyn Read>),
}

/// One commit of a history or push scan, as its source yields it: what changed, with its
/// content read on demand (most blobs are read once and most commits hold no token, so
/// nothing is read or computed before the pipeline asks).
pub trait CommitUnit {
    /// The commit.
    fn id(&self) -> ObjectId;
    /// The files whose new version differs from the first parent's.
    fn files(&self) -> &[FileChange];
    /// The content of a blob (a large one as a stream).
    fn blob(&self, id: ObjectId) -> crate::Result<Blob>;
    /// The versions of changed file `i` that its tokens are compared with: the first
    /// parent's (for an added file, the file it was renamed from, if any), and every other
    /// parent's version of the path (a merge).
    fn olds(&self, i: usize) -> crate::Result<Vec<ObjectId>>;
    /// The commit's metadata.
    fn info(&self) -> crate::Result<Arc<CommitInfo>>;
    /// The commit's message, whole.
    fn message(&self) -> crate::Result<Vec<u8>>;
}
