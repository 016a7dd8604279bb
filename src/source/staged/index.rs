//! A reader for git's index file (versions 2, 3 and 4) and its cache-tree (`TREE`).
//!
//! libgit2 takes tens of milliseconds to load the index of a large repository and its
//! tree-to-index diff walks every entry; git itself skips unchanged folders with the
//! cache-tree. This reader takes what the staged scan needs (path, mode, object id, stage,
//! intent-to-add) and the cache-tree, in one pass over the file, so that the scan only looks
//! at folders whose staged tree differs from HEAD's. Format: gitformat-index(5).

/// Why an index file cannot be read.
#[derive(Debug, PartialEq, Eq)]
pub struct IndexError(pub String);

impl std::fmt::Display for IndexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for IndexError {}

fn corrupt(what: &str) -> IndexError {
    IndexError(format!("corrupt index ({what})"))
}

/// Length of an object id (SHA-1).
const OID: usize = 20;

/// One index entry (positions in the index file, which the [`IndexFile`] borrows).
#[derive(Debug, Clone)]
pub struct Entry {
    /// Where the path is: in the file (v2, v3) or in the decompressed names (v4).
    name: (u32, u32),
    /// Where the object id is in the file.
    id_at: u32,
    /// Git file mode (0o100644, 0o100755, 0o120000, 0o160000).
    pub mode: u32,
    /// Merge stage (0 unless the path is conflicted).
    pub stage: u8,
    /// Added with `git add -N`: not part of the next commit.
    pub intent_to_add: bool,
}

impl Entry {
    /// Whether this entry goes into the next commit (stage 0, not intent-to-add).
    pub fn staged(&self) -> bool {
        self.stage == 0 && !self.intent_to_add
    }
}

/// A folder of the cache-tree: the tree id of the index entries below it, when still valid.
#[derive(Debug, Clone, Default)]
pub struct CacheTree {
    /// Tree id, or `None` when the folder changed since the tree was last computed.
    pub id: Option<[u8; OID]>,
    /// Sub-folders, sorted by name.
    pub children: Vec<(Vec<u8>, CacheTree)>,
}

impl CacheTree {
    /// The sub-folder called `name`.
    pub fn child(&self, name: &[u8]) -> Option<&CacheTree> {
        self.children
            .binary_search_by(|(n, _)| n.as_slice().cmp(name))
            .ok()
            .map(|i| &self.children[i].1)
    }
}

/// The parsed index, borrowing the file's bytes.
#[derive(Debug, Default)]
pub struct IndexFile<'a> {
    data: &'a [u8],
    /// Decompressed paths of a version 4 index (empty otherwise).
    names: Vec<u8>,
    v4: bool,
    /// Entries in index order (by path, then stage).
    pub entries: Vec<Entry>,
    /// The cache-tree, when the index has one.
    pub tree: Option<CacheTree>,
}

impl<'a> IndexFile<'a> {
    /// The path of `e` (bytes, `/`-separated, relative to the work tree root).
    pub fn path(&self, e: &Entry) -> &[u8] {
        let (at, len) = (e.name.0 as usize, e.name.1 as usize);
        if self.v4 {
            &self.names[at..at + len]
        } else {
            &self.data[at..at + len]
        }
    }

    /// The object id of `e`.
    pub fn id(&self, e: &Entry) -> &[u8] {
        &self.data[e.id_at as usize..e.id_at as usize + OID]
    }

    /// Parses the bytes of an index file.
    pub fn parse(data: &'a [u8]) -> Result<IndexFile<'a>, IndexError> {
        if data.len() >= u32::MAX as usize {
            return Err(IndexError("index file too large".into()));
        }
        let mut r = Reader { data, at: 0 };
        if r.take(4)? != b"DIRC" {
            return Err(corrupt("bad signature"));
        }
        let version = r.u32()?;
        if !(2..=4).contains(&version) {
            return Err(IndexError(format!("unsupported index version {version}")));
        }
        let count = r.u32()? as usize;
        // Each entry takes at least 62 bytes; refuse counts the file cannot hold.
        if count > data.len() / 62 {
            return Err(corrupt("entry count larger than the file"));
        }
        let v4 = version == 4;
        let mut out = IndexFile {
            data,
            names: Vec::new(),
            v4,
            entries: Vec::with_capacity(count),
            tree: None,
        };
        let mut prev: (usize, usize) = (0, 0);
        for _ in 0..count {
            let start = r.at;
            let fixed = r.take(62)?;
            let mode = be32(&fixed[24..28]);
            let flags = u16::from_be_bytes([fixed[60], fixed[61]]);
            let stage = ((flags >> 12) & 3) as u8;
            let mut intent_to_add = false;
            if flags & 0x4000 != 0 {
                if version < 3 {
                    return Err(corrupt("extended flags in a version 2 index"));
                }
                let ext = r.take(2)?;
                intent_to_add = u16::from_be_bytes([ext[0], ext[1]]) & 0x2000 != 0;
            }
            let name = if v4 {
                let strip = r.varint()?;
                let keep = prev.1.checked_sub(strip).ok_or_else(|| corrupt("path prefix"))?;
                let at = out.names.len();
                out.names.extend_from_within(prev.0..prev.0 + keep);
                out.names.extend_from_slice(r.until_nul()?);
                (at, out.names.len() - at)
            } else {
                let header = r.at - start;
                let at = r.at;
                // The flags hold the length when it is below 0xFFF; check the NUL after it.
                let short = usize::from(flags & 0xFFF);
                let len = if short < 0xFFF && data.get(at + short) == Some(&0) {
                    r.at += short + 1;
                    short
                } else {
                    r.until_nul()?.len()
                };
                // Entries are padded with 1 to 8 NULs to a multiple of 8 bytes.
                r.at = start + ((header + len + 8) & !7);
                if r.at > data.len() {
                    return Err(corrupt("truncated entry"));
                }
                (at, len)
            };
            if name.1 == 0 {
                return Err(corrupt("empty path"));
            }
            let entry = Entry {
                name: (name.0 as u32, name.1 as u32),
                id_at: (start + 40) as u32,
                mode,
                stage,
                intent_to_add,
            };
            if let Some(last) = out.entries.last() {
                if (out.path(last), last.stage) >= (out.path(&entry), stage) {
                    return Err(corrupt("entries out of order"));
                }
            }
            prev = name;
            out.entries.push(entry);
        }
        // Extensions, then the trailing checksum.
        while data.len() - r.at > OID {
            let sig: [u8; 4] = r.take(4)?.try_into().expect("4 bytes");
            let len = r.u32()? as usize;
            let body = r.take(len)?;
            match &sig {
                b"TREE" => out.tree = Some(parse_tree(body)?),
                [b'A'..=b'Z', ..] => {} // optional extensions: not needed here
                _ => {
                    let name = String::from_utf8_lossy(&sig);
                    let hint = match &sig {
                        b"link" => {
                            " (split index: `git update-index --no-split-index` turns it off)"
                        }
                        b"sdir" => " (sparse index: `git config index.sparse false` turns it off)",
                        _ => "",
                    };
                    return Err(IndexError(format!(
                        "the index uses the extension '{name}', which tokenguard cannot read{hint}"
                    )));
                }
            }
        }
        if data.len() - r.at != OID {
            return Err(corrupt("truncated"));
        }
        Ok(out)
    }
}

/// The cache-tree extension: folders in pre-order, each `path\0count subtrees\n[id]`.
fn parse_tree(body: &[u8]) -> Result<CacheTree, IndexError> {
    let mut r = Reader { data: body, at: 0 };
    let (_, root) = tree_node(&mut r, 0)?;
    Ok(root)
}

fn tree_node(r: &mut Reader<'_>, depth: usize) -> Result<(Vec<u8>, CacheTree), IndexError> {
    if depth > 4096 {
        return Err(corrupt("cache-tree too deep"));
    }
    let name = r.until_nul()?.to_vec();
    let count = r.number(b' ')?;
    let subtrees = r.number(b'\n')?;
    let id = if count >= 0 {
        let mut id = [0u8; OID];
        id.copy_from_slice(r.take(OID)?);
        Some(id)
    } else {
        None
    };
    let subtrees = usize::try_from(subtrees).map_err(|_| corrupt("cache-tree"))?;
    let mut children = Vec::with_capacity(subtrees.min(1024));
    for _ in 0..subtrees {
        children.push(tree_node(r, depth + 1)?);
    }
    children.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((name, CacheTree { id, children }))
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], IndexError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or_else(|| corrupt("truncated"))?;
        let s = &self.data[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32, IndexError> {
        self.take(4).map(be32)
    }

    /// Bytes up to a NUL (which is consumed, not returned).
    fn until_nul(&mut self) -> Result<&'a [u8], IndexError> {
        let rest = &self.data[self.at..];
        let n = memchr::memchr(0, rest).ok_or_else(|| corrupt("unterminated path"))?;
        self.at += n + 1;
        Ok(&rest[..n])
    }

    /// git's offset varint (index v4 path prefix lengths).
    fn varint(&mut self) -> Result<usize, IndexError> {
        let mut c = self.take(1)?[0];
        let mut val = usize::from(c & 0x7f);
        while c & 0x80 != 0 {
            c = self.take(1)?[0];
            val = val
                .checked_add(1)
                .and_then(|v| v.checked_mul(128))
                .map(|v| v | usize::from(c & 0x7f))
                .ok_or_else(|| corrupt("varint"))?;
        }
        Ok(val)
    }

    /// An ASCII decimal (possibly negative) ended by `end`.
    fn number(&mut self, end: u8) -> Result<i64, IndexError> {
        let rest = &self.data[self.at..];
        let n = memchr::memchr(end, rest).ok_or_else(|| corrupt("cache-tree"))?;
        self.at += n + 1;
        std::str::from_utf8(&rest[..n])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| corrupt("cache-tree"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_v2(path: &[u8], mode: u32, id: u8, flags_hi: u16) -> Vec<u8> {
        let mut e = vec![0u8; 62];
        e[24..28].copy_from_slice(&mode.to_be_bytes());
        e[40..60].copy_from_slice(&[id; 20]);
        let flags = flags_hi | path.len() as u16;
        e[60..62].copy_from_slice(&flags.to_be_bytes());
        e.extend_from_slice(path);
        let size = (62 + path.len() + 8) & !7;
        e.resize(size, 0);
        e
    }

    fn file(version: u32, entries: &[Vec<u8>], ext: &[u8]) -> Vec<u8> {
        let mut d = b"DIRC".to_vec();
        d.extend_from_slice(&version.to_be_bytes());
        d.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        for e in entries {
            d.extend_from_slice(e);
        }
        d.extend_from_slice(ext);
        d.extend_from_slice(&[0u8; 20]);
        d
    }

    #[test]
    fn reads_entries_and_cache_tree() {
        let mut tree = b"TREE".to_vec();
        let body = [b"\x002 1\n".as_slice(), &[7u8; 20], b"d\x00-1 0\n"].concat();
        tree.extend_from_slice(&(body.len() as u32).to_be_bytes());
        tree.extend_from_slice(&body);
        let data =
            file(2, &[entry_v2(b"a.txt", 0o100644, 1, 0), entry_v2(b"d/b", 0o120000, 2, 0)], &tree);
        let idx = IndexFile::parse(&data).unwrap();
        assert_eq!(idx.entries.len(), 2);
        assert_eq!(idx.path(&idx.entries[1]), b"d/b");
        assert_eq!(idx.entries[1].mode, 0o120000);
        assert_eq!(idx.id(&idx.entries[1]), &[2; 20]);
        let t = idx.tree.unwrap();
        assert_eq!(t.id, Some([7; 20]));
        assert_eq!(t.child(b"d").unwrap().id, None);
    }

    #[test]
    fn refuses_truncated_files_and_unknown_required_extensions() {
        let data = file(2, &[entry_v2(b"a", 0o100644, 1, 0)], b"");
        for cut in [3, 11, 40, data.len() - 21] {
            assert!(IndexFile::parse(&data[..cut]).is_err(), "cut at {cut}");
        }
        let data = file(2, &[entry_v2(b"a", 0o100644, 1, 0)], b"link\x00\x00\x00\x00");
        assert!(IndexFile::parse(&data).unwrap_err().0.contains("split index"));
        assert!(IndexFile::parse(b"DIRC\x00\x00\x00\x09").is_err());
    }

    #[test]
    fn refuses_entries_out_of_order() {
        let data = file(2, &[entry_v2(b"b", 0o100644, 1, 0), entry_v2(b"a", 0o100644, 1, 0)], b"");
        assert!(IndexFile::parse(&data).is_err());
    }
}
