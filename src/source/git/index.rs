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

/// Mode of a sparse-directory entry (a folder outside the sparse-checkout cone, `sdir`).
pub const SPARSE_DIR: u32 = 0o040000;

/// One index entry (positions in the index files, which the [`IndexFile`] borrows).
#[derive(Debug, Clone)]
pub struct Entry {
    /// Where the path is: in the file (v2, v3) or in the decompressed names (v4).
    name: (u32, u32),
    /// Where the object id is in the file.
    id_at: u32,
    /// Which file holds the path and the object id: 0 the index file, 1 its shared index
    /// (split index; a replaced entry keeps the shared path and takes the new id).
    name_in: u8,
    id_in: u8,
    /// Git file mode (0o100644, 0o100755, 0o120000, 0o160000, or [`SPARSE_DIR`]).
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

/// The bytes of one index file, and the paths of a version 4 file (decompressed).
#[derive(Debug, Default)]
struct Part<'a> {
    data: &'a [u8],
    names: Vec<u8>,
    v4: bool,
}

/// The split-index extension (`link`): the shared index this file completes, and which of
/// the shared entries it deletes or replaces (positions in the shared index).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Link {
    /// The shared index's checksum: its file is `sharedindex.<hex>`.
    pub shared: [u8; OID],
    /// The delete and replace bitmaps, as stored (empty: nothing deleted or replaced).
    bitmaps: Vec<u8>,
}

/// The parsed index, borrowing the files' bytes.
#[derive(Debug, Default)]
pub struct IndexFile<'a> {
    parts: [Part<'a>; 2],
    /// Entries in index order (by path, then stage).
    pub entries: Vec<Entry>,
    /// The cache-tree, when the index has one.
    pub tree: Option<CacheTree>,
    /// A split index whose shared entries are not merged in yet ([`IndexFile::merge_shared`]).
    pub link: Option<Link>,
}

impl<'a> IndexFile<'a> {
    /// The path of `e` (bytes, `/`-separated, relative to the work tree root; a sparse
    /// directory's ends with `/`).
    pub fn path(&self, e: &Entry) -> &[u8] {
        let (at, len) = (e.name.0 as usize, e.name.1 as usize);
        let part = &self.parts[usize::from(e.name_in)];
        if part.v4 {
            &part.names[at..at + len]
        } else {
            &part.data[at..at + len]
        }
    }

    /// The object id of `e`.
    pub fn id(&self, e: &Entry) -> &[u8] {
        &self.parts[usize::from(e.id_in)].data[e.id_at as usize..e.id_at as usize + OID]
    }

    /// Parses the bytes of an index file. A split index comes back with [`IndexFile::link`]
    /// set: its shared index must then be merged in with [`IndexFile::merge_shared`].
    pub fn parse(data: &'a [u8]) -> Result<IndexFile<'a>, IndexError> {
        let mut out = IndexFile::default();
        let (entries, ext) = read_entries(data, 0, &mut out.parts[0])?;
        out.entries = entries;
        for (sig, body) in ext {
            match &sig {
                b"TREE" => out.tree = Some(parse_tree(body)?),
                b"link" => out.link = Some(parse_link(body)?),
                b"sdir" => {} // sparse index: folders outside the cone are single entries
                [b'A'..=b'Z', ..] => {} // optional extensions: not needed here
                _ => {
                    return Err(IndexError(format!(
                        "the index uses the extension '{}', which tokenguard cannot read",
                        String::from_utf8_lossy(&sig)
                    )))
                }
            }
        }
        if out.link.as_ref().is_some_and(|l| l.shared == [0; OID]) {
            out.link = None; // a split index that holds every entry itself
        }
        // Names are empty only for the entries (first in the file) that replace shared ones.
        let stripped = out.entries.iter().take_while(|e| e.name.1 == 0).count();
        if (stripped > 0 && out.link.is_none())
            || out.entries[stripped..].iter().any(|e| e.name.1 == 0)
        {
            return Err(corrupt("empty path"));
        }
        out.check_order(&out.entries[stripped..])?;
        Ok(out)
    }

    /// Completes a split index with its shared index (the bytes of `sharedindex.<hex>`), as
    /// git does: the shared entries, less those deleted, with those replaced taking the new
    /// entry's id, mode and flags, and the entries of this file added (an entry of this file
    /// wins over a shared one of the same path and stage; a stage-0 entry drops the shared
    /// entry's conflict stages).
    pub fn merge_shared(&mut self, shared: &'a [u8]) -> Result<(), IndexError> {
        let Some(link) = self.link.take() else { return Ok(()) };
        if shared.len() < OID || shared[shared.len() - OID..] != link.shared {
            return Err(corrupt("the shared index's checksum does not match the split index"));
        }
        let (mut base, ext) = read_entries(shared, 1, &mut self.parts[1])?;
        if ext.iter().any(|(sig, _)| sig == b"link" || sig == b"sdir") {
            return Err(corrupt("shared index with a link or sparse extension"));
        }
        if base.iter().any(|e| e.name.1 == 0) {
            return Err(corrupt("empty path in the shared index"));
        }
        self.check_order(&base)?;
        let (delete, replace) = if link.bitmaps.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let mut r = Reader { data: &link.bitmaps, at: 0 };
            let delete = ewah_bits(&mut r, base.len())?;
            let replace = ewah_bits(&mut r, base.len())?;
            if r.at != link.bitmaps.len() {
                return Err(corrupt("link extension"));
            }
            (delete, replace)
        };
        let stripped = self.entries.iter().take_while(|e| e.name.1 == 0).count();
        if replace.len() != stripped {
            return Err(corrupt("split index replacements"));
        }
        let mut removed = vec![false; base.len()];
        for (k, &p) in replace.iter().enumerate() {
            let p = p as usize;
            let src = &self.entries[k];
            let dst = &mut base[p];
            dst.id_at = src.id_at;
            dst.id_in = src.id_in;
            dst.mode = src.mode;
            dst.stage = src.stage;
            dst.intent_to_add = src.intent_to_add;
        }
        for &p in &delete {
            removed[p as usize] = true;
        }
        if replace.iter().any(|&p| removed[p as usize]) {
            return Err(corrupt("split index entry both replaced and deleted"));
        }
        let added = self.entries.split_off(stripped);
        let mut merged = Vec::with_capacity(base.len() + added.len());
        let mut base = base.into_iter().zip(removed).filter(|(_, r)| !r).map(|(e, _)| e).peekable();
        for new in added {
            let (path, stage) = (self.path(&new), new.stage);
            while let Some(old) = base.peek() {
                let old_path = self.path(old);
                if old_path == path && (old.stage == stage || stage == 0) {
                    base.next(); // the new entry takes its place
                } else if (old_path, old.stage) < (path, stage) {
                    merged.push(base.next().expect("peeked"));
                } else {
                    break;
                }
            }
            merged.push(new);
        }
        merged.extend(base);
        self.check_order(&merged)?;
        self.entries = merged;
        Ok(())
    }

    fn check_order(&self, entries: &[Entry]) -> Result<(), IndexError> {
        let ordered = entries
            .windows(2)
            .all(|w| (self.path(&w[0]), w[0].stage) < (self.path(&w[1]), w[1].stage));
        if ordered {
            Ok(())
        } else {
            Err(corrupt("entries out of order"))
        }
    }
}

/// An extension: signature and body.
type Extension<'a> = ([u8; 4], &'a [u8]);

/// Reads the header and entries of an index file into `part` (`which`: its number), then
/// its extensions (not interpreted) up to the trailing checksum.
fn read_entries<'a>(
    data: &'a [u8],
    which: u8,
    part: &mut Part<'a>,
) -> Result<(Vec<Entry>, Vec<Extension<'a>>), IndexError> {
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
    *part = Part { data, names: Vec::new(), v4 };
    let mut entries = Vec::with_capacity(count);
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
            let at = part.names.len();
            part.names.extend_from_within(prev.0..prev.0 + keep);
            part.names.extend_from_slice(r.until_nul()?);
            (at, part.names.len() - at)
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
        entries.push(Entry {
            name: (name.0 as u32, name.1 as u32),
            id_at: (start + 40) as u32,
            name_in: which,
            id_in: which,
            mode,
            stage,
            intent_to_add,
        });
        prev = name;
    }
    // Extensions, then the trailing checksum (all zeros with `index.skipHash`).
    let mut ext = Vec::new();
    while data.len() - r.at > OID {
        let sig: [u8; 4] = r.take(4)?.try_into().expect("4 bytes");
        let len = r.u32()? as usize;
        ext.push((sig, r.take(len)?));
    }
    if data.len() - r.at != OID {
        return Err(corrupt("truncated"));
    }
    Ok((entries, ext))
}

/// The `link` extension: the shared index's id, then the delete and replace bitmaps (EWAH),
/// absent when the split index deletes and replaces nothing.
fn parse_link(body: &[u8]) -> Result<Link, IndexError> {
    let mut r = Reader { data: body, at: 0 };
    let mut link = Link::default();
    link.shared.copy_from_slice(r.take(OID).map_err(|_| corrupt("link extension"))?);
    link.bitmaps = body[OID..].to_vec();
    Ok(link)
}

/// The positions of the set bits of an EWAH bitmap (git's Documentation/technical/
/// bitmap-format): bit count, word count, the 64-bit words, the last marker's position. The
/// words are markers, each followed by its literal words: a marker holds a run bit (bit 0),
/// the run's length in words (next 32 bits) and the number of literal words (top 31 bits).
/// Positions from `limit` on are refused (they name no entry of the shared index).
fn ewah_bits(r: &mut Reader<'_>, limit: usize) -> Result<Vec<u32>, IndexError> {
    let bad = || corrupt("split index bitmap");
    let _bits = r.u32()?;
    let words = r.u32()? as usize;
    let body = r.take(words.checked_mul(8).ok_or_else(bad)?)?;
    let _rlw = r.u32()?;
    let word = |i: usize| u64::from_be_bytes(body[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    let mut out = Vec::new();
    let (mut pos, mut i) = (0u64, 0usize);
    let limit = limit as u64;
    while i < words {
        let marker = word(i);
        i += 1;
        let run = ((marker >> 1) & 0xFFFF_FFFF) * 64;
        let literals = (marker >> 33) as usize;
        if marker & 1 == 1 {
            if pos + run > limit {
                return Err(bad());
            }
            out.extend((pos..pos + run).map(|p| p as u32));
        }
        pos = pos.saturating_add(run);
        if literals > words - i {
            return Err(bad());
        }
        for _ in 0..literals {
            let mut w = word(i);
            i += 1;
            while w != 0 {
                let p = pos + u64::from(w.trailing_zeros());
                if p >= limit {
                    return Err(bad());
                }
                out.push(p as u32);
                w &= w - 1;
            }
            pos = pos.saturating_add(64);
        }
    }
    Ok(out)
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
        let data = file(2, &[entry_v2(b"a", 0o100644, 1, 0)], b"abcd\x00\x00\x00\x00");
        assert!(IndexFile::parse(&data).unwrap_err().0.contains("'abcd'"));
        assert!(IndexFile::parse(b"DIRC\x00\x00\x00\x09").is_err());
        // An empty path outside a split index.
        let data = file(2, &[entry_v2(b"", 0o100644, 1, 0)], b"");
        assert!(IndexFile::parse(&data).is_err());
    }

    fn ewah(words: &[u64]) -> Vec<u8> {
        let mut b = 999u32.to_be_bytes().to_vec();
        b.extend_from_slice(&(words.len() as u32).to_be_bytes());
        for w in words {
            b.extend_from_slice(&w.to_be_bytes());
        }
        b.extend_from_slice(&0u32.to_be_bytes());
        b
    }

    #[test]
    fn ewah_bitmaps() {
        let bits = |b: &[u8], limit| ewah_bits(&mut Reader { data: b, at: 0 }, limit);
        // One marker with one literal word: bits 0, 1, 2 (as git writes 3 replacements).
        assert_eq!(bits(&ewah(&[1 << 33, 7]), 10).unwrap(), vec![0, 1, 2]);
        // A run of 1 zero word, then a run of 1 word of ones, then a literal with bit 3.
        let words = [2, (1 << 33) | 3, 1 << 3];
        let want: Vec<u32> = (64..128).chain([131]).collect();
        assert_eq!(bits(&ewah(&words), 200).unwrap(), want);
        // Positions past the shared index, literal counts past the words, truncation.
        assert!(bits(&ewah(&words), 100).is_err());
        assert!(bits(&ewah(&[2 << 33, 1]), 100).is_err());
        assert!(bits(&ewah(&[1 << 33, 7])[..10], 100).is_err());
    }

    #[test]
    fn refuses_entries_out_of_order() {
        let data = file(2, &[entry_v2(b"b", 0o100644, 1, 0), entry_v2(b"a", 0o100644, 1, 0)], b"");
        assert!(IndexFile::parse(&data).is_err());
    }
}
