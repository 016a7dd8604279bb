//! Trees: the raw tree format, git's order of entries, and the one tree diff that the staged
//! and the history sources share. The diff reads no blob and skips every subtree whose id is
//! the same on both sides.

use std::cmp::Ordering;
use std::sync::Arc;

use git2::Oid;

use crate::Result;

/// The mode of a tree entry that is a folder.
pub const MODE_TREE: u32 = 0o040000;
/// The mode of a submodule (a commit of another repository).
pub const MODE_GITLINK: u32 = 0o160000;

/// A tree entry: name, id, and mode (normalized as git reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'t> {
    /// The name (one path component).
    pub name: &'t [u8],
    /// The object it names.
    pub id: Oid,
    /// The mode: 100644, 100755, 120000 (link), 040000 (tree) or 160000 (submodule).
    pub mode: u32,
}

impl Entry<'_> {
    /// Whether the entry is a folder.
    pub fn is_tree(&self) -> bool {
        self.mode == MODE_TREE
    }
}

/// The entries of a raw tree (`<octal mode> <name>\0<20-byte id>`, repeated). A damaged tree
/// ends early.
pub struct Entries<'t>(pub &'t [u8]);

impl<'t> Iterator for Entries<'t> {
    type Item = Entry<'t>;

    fn next(&mut self) -> Option<Entry<'t>> {
        let data = self.0;
        let space = memchr::memchr(b' ', data)?;
        let nul = space + 1 + memchr::memchr(0, &data[space + 1..])?;
        let id = Oid::from_bytes(data.get(nul + 1..nul + 21)?).ok()?;
        let mut mode = 0u32;
        for &d in &data[..space] {
            if !(b'0'..=b'7').contains(&d) || mode > 0o7777777 {
                return None;
            }
            mode = mode * 8 + u32::from(d - b'0');
        }
        self.0 = &data[nul + 21..];
        Some(Entry { name: &data[space + 1..nul], id, mode: normalize_mode(mode) })
    }
}

/// Git's reading of a tree entry's mode: any regular file is 100644 or 100755.
pub fn normalize_mode(mode: u32) -> u32 {
    match mode & 0o170000 {
        0o100000 if mode & 0o111 != 0 => 0o100755,
        0o100000 => 0o100644,
        0o040000 => MODE_TREE,
        0o120000 | 0o160000 => mode & 0o170000,
        _ => mode,
    }
}

/// Git's order of the entries of a tree (and of an index): names compared as bytes, a
/// folder's name as if it ended with `/`. The one comparator of the crate.
pub fn git_order(a: &[u8], a_is_tree: bool, b: &[u8], b_is_tree: bool) -> Ordering {
    let n = a.len().min(b.len());
    match a[..n].cmp(&b[..n]) {
        Ordering::Equal => {}
        other => return other,
    }
    let next = |name: &[u8], tree: bool| match name.get(n) {
        Some(&c) => c,
        None if tree => b'/',
        None => 0,
    };
    next(a, a_is_tree).cmp(&next(b, b_is_tree))
}

/// A side of a changed path: its id and mode.
pub type Side = Option<(Oid, u32)>;

/// A raw tree, shared with the reader's cache.
pub type Raw = Arc<Vec<u8>>;

/// Reads a raw tree by id.
pub type ReadTree<'a> = dyn FnMut(Oid) -> Result<Raw> + 'a;

/// Reads a raw tree by id, given its path (`/`-separated, without a trailing slash).
pub type ReadTreeAt<'a> = dyn FnMut(Oid, &[u8]) -> Result<Raw> + 'a;

/// Receives a changed path with its old and new side.
pub type Changed<'a> = dyn FnMut(&[u8], Side, Side) -> Result<()> + 'a;

/// Compares two trees (given raw; `None`: the empty tree) and calls `changed(path, old,
/// new)` for every path that is not a folder on at least one side and differs (id or mode),
/// in git's order. Subtrees are read with `read` only where the ids differ. A folder that
/// only the old side has is descended into when `deleted_trees` is set, else reported once
/// as its own path with the old side a tree (`MODE_TREE`) and no new side.
pub fn diff(
    read: &mut ReadTree<'_>,
    old: Option<&[u8]>,
    new: Option<&[u8]>,
    deleted_trees: bool,
    prefix: &mut Vec<u8>,
    changed: &mut Changed<'_>,
) -> Result<()> {
    diff_at(&mut |id, _| read(id), old, new, deleted_trees, prefix, changed)
}

/// [`diff`] with a reader of subtrees that is given each one's path.
pub fn diff_at(
    read: &mut ReadTreeAt<'_>,
    old: Option<&[u8]>,
    new: Option<&[u8]>,
    deleted_trees: bool,
    prefix: &mut Vec<u8>,
    changed: &mut Changed<'_>,
) -> Result<()> {
    let mut olds = Entries(old.unwrap_or_default()).peekable();
    let mut news = Entries(new.unwrap_or_default()).peekable();
    loop {
        let (o, n) = match (olds.peek(), news.peek()) {
            (Some(o), Some(n)) => match git_order(o.name, o.is_tree(), n.name, n.is_tree()) {
                Ordering::Less => (olds.next(), None),
                Ordering::Greater => (None, news.next()),
                Ordering::Equal => (olds.next(), news.next()),
            },
            (Some(_), None) => (olds.next(), None),
            (None, Some(_)) => (None, news.next()),
            (None, None) => return Ok(()),
        };
        if let (Some(o), Some(n)) = (&o, &n) {
            if o.id == n.id && o.mode == n.mode {
                continue;
            }
        }
        let len = prefix.len();
        prefix.extend_from_slice(o.or(n).expect("one side").name);
        let tree_of = |e: &Option<Entry<'_>>| e.filter(Entry::is_tree).map(|e| e.id);
        let (old_tree, new_tree) = (tree_of(&o), tree_of(&n));
        if new_tree.is_some() || (old_tree.is_some() && deleted_trees) {
            // An object error names the folder being read.
            let sub = |id: Option<Oid>, read: &mut ReadTreeAt<'_>| {
                id.map(|id| read(id, prefix)).transpose().map_err(|e| e.at_path(prefix))
            };
            let (a, b) = (sub(old_tree, read)?, sub(new_tree, read)?);
            prefix.push(b'/');
            diff_at(
                read,
                a.as_deref().map(Vec::as_slice),
                b.as_deref().map(Vec::as_slice),
                deleted_trees,
                prefix,
                changed,
            )?;
            prefix.pop();
        }
        // What is not a folder on a side (or a deleted folder not descended into).
        let file = |e: &Option<Entry<'_>>| e.filter(|e| !e.is_tree()).map(|e| (e.id, e.mode));
        let (old_file, new_file) = (file(&o), file(&n));
        let old_side = match (old_file, old_tree) {
            (None, Some(t)) if new_tree.is_none() && !deleted_trees => Some((t, MODE_TREE)),
            (side, _) => side,
        };
        if old_side.is_some() || new_file.is_some() {
            changed(prefix, old_side, new_file)?;
        }
        prefix.truncate(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_sort_as_if_they_ended_with_a_slash() {
        let cmp =
            |a: &str, at: bool, b: &str, bt: bool| git_order(a.as_bytes(), at, b.as_bytes(), bt);
        assert_eq!(cmp("a", true, "a.c", false), Ordering::Greater);
        assert_eq!(cmp("a", false, "a.c", false), Ordering::Less);
        assert_eq!(cmp("a", true, "a0", false), Ordering::Less);
        assert_eq!(cmp("a", true, "a", true), Ordering::Equal);
        assert_eq!(cmp("a", true, "a", false), Ordering::Greater);
    }
}
