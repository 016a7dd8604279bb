//! A reader of git pack files for the history scan: objects read straight from the mapped
//! `.pack`/`.idx` files, with a per-reader cache of recently read objects (delta bases).
//!
//! Why not libgit2 alone: its pack reader takes a lock per pack for every object (the two
//! workers of a history scan wait on each other), and its delta-base cache is fixed at
//! 16 MiB per pack and emptied whole when full, so on a repository of large files the same
//! delta chains are inflated again and again. Here each worker has its own reader and cache,
//! and nothing is locked.
//!
//! Only what it knows is read: version 2 indexes, pack versions 2 and 3, whole objects and
//! both delta kinds (a `REF_DELTA` base must be in the same pack). Anything else (loose
//! objects, alternates, a base in another pack, an index it does not understand) is `None`,
//! and the caller reads the object through libgit2.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use flate2::{Decompress, FlushDecompress, Status};
use git2::{ObjectType, Oid};
use memmap2::Mmap;

/// The packs of one object folder (`objects/pack/*.idx` and their `.pack`), mapped.
pub struct Packs {
    packs: Vec<Pack>,
}

struct Pack {
    idx: Mmap,
    data: Mmap,
    count: usize,
}

const OID: usize = 20;
/// Index v2: magic, version, fan-out table.
const IDX_HEADER: usize = 8 + 256 * 4;

impl Packs {
    /// Maps every pack of `objects` (a repository's `objects` folder) with a usable index.
    /// A pack that cannot be opened or is not understood is left out, never an error.
    pub fn open(objects: &Path) -> Packs {
        let mut packs = Vec::new();
        let Ok(dir) = std::fs::read_dir(objects.join("pack")) else {
            return Packs { packs };
        };
        for entry in dir.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "idx") {
                if let Some(p) = Pack::open(&path) {
                    packs.push(p);
                }
            }
        }
        Packs { packs }
    }

    /// How many packs are mapped.
    pub fn len(&self) -> usize {
        self.packs.len()
    }

    /// Whether no pack is mapped.
    pub fn is_empty(&self) -> bool {
        self.packs.is_empty()
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

impl Pack {
    fn open(idx_path: &Path) -> Option<Pack> {
        let map = |p: &Path| File::open(p).ok().and_then(|f| unsafe { Mmap::map(&f) }.ok());
        // SAFETY (both maps): git never rewrites a pack or index in place; a new one gets a
        // new name, and an old one is only unlinked, which keeps the mapping valid.
        let idx = map(idx_path)?;
        let data = map(&idx_path.with_extension("pack"))?;
        if idx.len() < IDX_HEADER + 2 * OID || &idx[..4] != b"\xfftOc" || be32(&idx, 4) != 2 {
            return None;
        }
        let count = be32(&idx, 8 + 255 * 4) as usize;
        // oids, crc32s, 32-bit offsets, then 64-bit offsets and two checksums.
        if idx.len() < IDX_HEADER + count * (OID + 8) + 2 * OID {
            return None;
        }
        if data.len() < 12 + OID || &data[..4] != b"PACK" || !matches!(be32(&data, 4), 2 | 3) {
            return None;
        }
        Some(Pack { idx, data, count })
    }

    /// The offset in the pack of object `id`.
    fn find(&self, id: &[u8]) -> Option<u64> {
        let first = id[0] as usize;
        let mut lo = if first == 0 { 0 } else { be32(&self.idx, 8 + (first - 1) * 4) as usize };
        let mut hi = be32(&self.idx, 8 + first * 4) as usize;
        if hi > self.count || lo > hi {
            return None;
        }
        while lo < hi {
            let mid = (lo + hi) / 2;
            let at = IDX_HEADER + mid * OID;
            match self.idx[at..at + OID].cmp(id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return self.offset(mid),
            }
        }
        None
    }

    fn offset(&self, n: usize) -> Option<u64> {
        let small = IDX_HEADER + self.count * (OID + 4);
        let v = be32(&self.idx, small + n * 4);
        if v & 0x8000_0000 == 0 {
            return Some(u64::from(v));
        }
        let at = small + self.count * 4 + (v & 0x7fff_ffff) as usize * 8;
        let b = self.idx.get(at..at + 8)?;
        Some(u64::from_be_bytes(b.try_into().ok()?))
    }
}

/// An object's content, shared with the cache.
pub type Content = Arc<Vec<u8>>;

/// Reads objects from [`Packs`] with a cache of recent objects; one per thread.
pub struct Reader {
    packs: Arc<Packs>,
    inflate: Decompress,
    cache: HashMap<(u32, u64), (Content, ObjectType, u64)>,
    cached_bytes: usize,
    limit: usize,
    tick: u64,
}

/// Objects larger than this are not kept in the cache.
const MAX_CACHED: usize = 4 << 20;
/// Delta chains longer than this are taken as damage (git's default depth is 50, at most 4095).
const MAX_DEPTH: usize = 10_000;

/// A step of a delta chain: where the object is and how large its delta is.
struct Link {
    offset: u64,
    data: usize,
    size: usize,
}

impl Reader {
    /// A reader that keeps up to `cache_bytes` of recently read objects.
    pub fn new(packs: Arc<Packs>, cache_bytes: usize) -> Reader {
        Reader {
            packs,
            inflate: Decompress::new(false),
            cache: HashMap::new(),
            cached_bytes: 0,
            limit: cache_bytes,
            tick: 0,
        }
    }

    /// Object `id` and its kind, or `None` when it is not in a pack this reader can read
    /// (the caller then asks libgit2). A damaged pack reads as `None` too.
    pub fn read(&mut self, id: Oid) -> Option<(ObjectType, Content)> {
        let bytes = id.as_bytes();
        if bytes.len() != OID {
            return None;
        }
        let packs = Arc::clone(&self.packs);
        for (n, pack) in packs.packs.iter().enumerate() {
            if let Some(offset) = pack.find(bytes) {
                return self.read_at(n as u32, pack, offset);
            }
        }
        None
    }

    fn read_at(&mut self, n: u32, pack: &Pack, offset: u64) -> Option<(ObjectType, Content)> {
        self.tick += 1;
        let mut chain: Vec<Link> = Vec::new();
        let mut at = offset;
        let (kind, mut content) = loop {
            if let Some((c, k, used)) = self.cache.get_mut(&(n, at)) {
                *used = self.tick;
                break (*k, c.clone());
            }
            if chain.len() > MAX_DEPTH {
                return None;
            }
            let (kind, size, data) = header(&pack.data, usize::try_from(at).ok()?)?;
            match kind {
                1..=4 => {
                    let kind = match kind {
                        1 => ObjectType::Commit,
                        2 => ObjectType::Tree,
                        3 => ObjectType::Blob,
                        _ => ObjectType::Tag,
                    };
                    let content = Arc::new(self.inflate(&pack.data, data, size)?);
                    self.keep(n, at, &content, kind);
                    break (kind, content);
                }
                6 => {
                    let (distance, data) = ofs_distance(&pack.data, data)?;
                    if distance == 0 {
                        return None;
                    }
                    chain.push(Link { offset: at, data, size });
                    at = at.checked_sub(distance).filter(|&b| b > 0)?;
                }
                7 => {
                    let base = pack.data.get(data..data + OID)?;
                    chain.push(Link { offset: at, data: data + OID, size });
                    at = pack.find(base)?;
                }
                _ => return None,
            }
        };
        for link in chain.iter().rev() {
            let delta = self.inflate(&pack.data, link.data, link.size)?;
            content = Arc::new(apply_delta(&content, &delta)?);
            self.keep(n, link.offset, &content, kind);
        }
        Some((kind, content))
    }

    fn inflate(&mut self, data: &[u8], at: usize, size: usize) -> Option<Vec<u8>> {
        // A zlib stream: a two-byte header (deflate, no preset dictionary), then raw deflate
        // data. The trailing Adler-32 is not checked (git's pack checksums cover it).
        let input = data.get(at..data.len().checked_sub(OID)?)?;
        let (cmf, flg) = (*input.first()?, *input.get(1)?);
        if cmf & 0x0f != 8 || flg & 0x20 != 0 || (u16::from(cmf) << 8 | u16::from(flg)) % 31 != 0 {
            return None;
        }
        // The size comes from the pack: a corrupt or hostile one may claim terabytes, so the
        // buffer grows with what the stream really gives (one byte past `size` proves a lie).
        let mut out = Vec::with_capacity(size.min(64 << 10) + 1);
        self.inflate.reset(false);
        let mut rest = &input[2..];
        loop {
            let before = self.inflate.total_in();
            let status =
                self.inflate.decompress_vec(rest, &mut out, FlushDecompress::Finish).ok()?;
            rest = rest.get(usize::try_from(self.inflate.total_in() - before).ok()?..)?;
            if status == Status::StreamEnd || out.len() > size {
                break;
            }
            if out.len() < out.capacity() {
                return None; // no progress with room left: the stream is cut short
            }
            out.reserve(out.capacity().min(size + 1 - out.len()));
        }
        (out.len() == size).then_some(out)
    }

    fn keep(&mut self, n: u32, offset: u64, content: &Content, kind: ObjectType) {
        if content.len() > MAX_CACHED || self.limit == 0 {
            return;
        }
        if self.cached_bytes + content.len() > self.limit {
            // Drop the least recently used entries down to three quarters of the limit.
            let mut by_age: Vec<(u64, (u32, u64), usize)> =
                self.cache.iter().map(|(k, (c, _, used))| (*used, *k, c.len())).collect();
            by_age.sort_unstable();
            let target = self.limit / 4 * 3;
            for (_, key, len) in by_age {
                if self.cached_bytes + content.len() <= target {
                    break;
                }
                self.cache.remove(&key);
                self.cached_bytes -= len;
            }
        }
        self.cached_bytes += content.len();
        if let Some((old, _, _)) =
            self.cache.insert((n, offset), (content.clone(), kind, self.tick))
        {
            self.cached_bytes -= old.len();
        }
    }
}

/// An entry header at `at`: type, inflated size, and where its data starts.
fn header(data: &[u8], at: usize) -> Option<(u8, usize, usize)> {
    let mut i = at;
    let mut b = *data.get(i)?;
    i += 1;
    let kind = (b >> 4) & 7;
    let mut size = u64::from(b & 0x0f);
    let mut shift = 4;
    while b & 0x80 != 0 {
        b = *data.get(i)?;
        i += 1;
        if shift > 57 {
            return None;
        }
        size |= u64::from(b & 0x7f) << shift;
        shift += 7;
    }
    Some((kind, usize::try_from(size).ok()?, i))
}

/// The distance back to an `OFS_DELTA`'s base, and where the delta data starts.
fn ofs_distance(data: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut i = at;
    let mut b = *data.get(i)?;
    i += 1;
    let mut distance = u64::from(b & 0x7f);
    while b & 0x80 != 0 {
        b = *data.get(i)?;
        i += 1;
        distance = distance.checked_add(1)?.checked_mul(128)? | u64::from(b & 0x7f);
    }
    Some((distance, i))
}

/// A delta's little-endian base-128 size.
fn delta_size(delta: &[u8], i: &mut usize) -> Option<usize> {
    let mut size = 0u64;
    let mut shift = 0;
    loop {
        let b = *delta.get(*i)?;
        *i += 1;
        if shift > 57 {
            return None;
        }
        size |= u64::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            return usize::try_from(size).ok();
        }
    }
}

/// Applies a git delta (copy and insert instructions) to `base`.
fn apply_delta(base: &[u8], delta: &[u8]) -> Option<Vec<u8>> {
    let mut i = 0;
    if delta_size(delta, &mut i)? != base.len() {
        return None;
    }
    let size = delta_size(delta, &mut i)?;
    // Grows with the copies and inserts; `size` (from the pack) only caps it.
    let mut out = Vec::with_capacity(size.min(base.len() + delta.len()));
    while i < delta.len() {
        let op = delta[i];
        i += 1;
        if op & 0x80 != 0 {
            let mut offset = 0usize;
            let mut len = 0usize;
            for bit in 0..4 {
                if op & (1 << bit) != 0 {
                    offset |= usize::from(*delta.get(i)?) << (8 * bit);
                    i += 1;
                }
            }
            for bit in 0..3 {
                if op & (0x10 << bit) != 0 {
                    len |= usize::from(*delta.get(i)?) << (8 * bit);
                    i += 1;
                }
            }
            if len == 0 {
                len = 0x10000;
            }
            out.extend_from_slice(base.get(offset..offset.checked_add(len)?)?);
        } else if op != 0 {
            out.extend_from_slice(delta.get(i..i + usize::from(op))?);
            i += usize::from(op);
        } else {
            return None;
        }
        if out.len() > size {
            return None;
        }
    }
    (out.len() == size).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::git::test_git::git;

    /// Every object the reader returns equals libgit2's reading of it; returns how many
    /// objects it read itself and how many it left to libgit2.
    fn compare_all(dir: &Path) -> (usize, usize) {
        let repo = git2::Repository::open(dir).unwrap();
        let odb = repo.odb().unwrap();
        let mut reader = Reader::new(Arc::new(Packs::open(&dir.join(".git/objects"))), 1 << 16);
        let (mut read, mut left) = (0, 0);
        let ids = git(dir, &["cat-file", "--batch-all-objects", "--batch-check=%(objectname)"]);
        // Twice: the second pass reads through a warm (and, at 64 KiB, evicting) cache.
        for _ in 0..2 {
            for id in ids.lines() {
                let id = Oid::from_str(id).unwrap();
                let want = odb.read(id).unwrap();
                match reader.read(id) {
                    Some((kind, content)) => {
                        assert_eq!(kind, want.kind(), "{id}");
                        assert_eq!(content.as_slice(), want.data(), "{id}");
                        read += 1;
                    }
                    None => left += 1,
                }
            }
        }
        (read, left)
    }

    #[test]
    fn packed_objects_read_as_libgit2_reads_them() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        git(d, &["init", "-q"]);
        // Many versions of a few files (long delta chains), a large file (copies of more
        // than 64 KiB), a binary file.
        let mut text: Vec<String> = (0..400).map(|i| format!("line {i} of the file\n")).collect();
        for v in 0..60 {
            text[(v * 7) % 400] = format!("changed in version {v}\n");
            text.insert((v * 13) % 400, format!("inserted in version {v}\n"));
            std::fs::write(d.join("a.txt"), text.concat()).unwrap();
            std::fs::write(d.join("b.txt"), text[..200].concat()).unwrap();
            let big: String = (0..20_000).map(|i| format!("{} {i}\n", v + i % 3)).collect();
            std::fs::write(d.join("big.txt"), big).unwrap();
            std::fs::write(d.join("bin"), [0u8, 1, 2, v as u8, 0, 255].repeat(100)).unwrap();
            git(d, &["add", "-A"]);
            git(d, &["commit", "-q", "-m", &format!("version {v}")]);
        }
        let (read, left) = compare_all(d);
        assert_eq!(read, 0, "loose objects are left to libgit2");
        assert!(left > 0);

        // Offset deltas (git's default), then reference deltas.
        git(d, &["gc", "-q", "--aggressive"]);
        let verify = |d: &Path| {
            let idx = std::fs::read_dir(d.join(".git/objects/pack"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "idx"))
                .map(|p| git(d, &["verify-pack", "-v", p.to_str().unwrap()]))
                .collect::<String>();
            idx.lines()
                .filter(|l| l.contains(" blob ") && l.split_whitespace().count() >= 7)
                .count()
        };
        assert!(verify(d) > 50, "the pack holds deltas");
        let (read, left) = compare_all(d);
        assert_eq!(left, 0);
        assert!(read > 0);
        git(d, &["-c", "repack.useDeltaBaseOffset=false", "repack", "-adfq"]);
        assert!(verify(d) > 50);
        let (_, left) = compare_all(d);
        assert_eq!(left, 0);

        // A second pack and loose objects next to it.
        std::fs::write(d.join("a.txt"), "new content\n").unwrap();
        git(d, &["commit", "-qam", "more"]);
        git(d, &["repack", "-dq"]);
        std::fs::write(d.join("a.txt"), "loose content\n").unwrap();
        git(d, &["commit", "-qam", "loose"]);
        assert_eq!(Packs::open(&d.join(".git/objects")).len(), 2);
        let (read, left) = compare_all(d);
        assert!(read > 0);
        assert_eq!(left, 2 * 3, "the last commit, its tree and blob are loose");
    }

    #[test]
    fn deltas_copy_and_insert() {
        let base = b"hello, world";
        // base size 12, result size 11: copy 5 bytes at 0, insert "!!", copy 4 bytes at 8.
        let delta = [12, 11, 0x90, 5, 2, b'!', b'!', 0x91, 8, 4];
        assert_eq!(apply_delta(base, &delta).as_deref(), Some(&b"hello!!orld"[..]));
        // Wrong base size, reserved opcode, a copy past the end of the base: all refused.
        assert_eq!(apply_delta(base, &[11, 1, 1, b'x']), None);
        assert_eq!(apply_delta(base, &[12, 1, 0]), None);
        assert_eq!(apply_delta(base, &[12, 4, 0x91, 10, 4]), None);
    }

    #[test]
    fn a_size_the_stream_does_not_hold_is_refused_without_allocating_it() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let mut reader = Reader::new(Arc::new(Packs::open(dir.path())), 0);
        let text = b"hello, world\n".repeat(20_000);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&text).unwrap();
        let mut data = z.finish().unwrap();
        data.extend_from_slice(&[0; OID]); // the pack's trailing checksum
        assert_eq!(reader.inflate(&data, 0, text.len()).as_deref(), Some(&text[..]));
        // A hostile pack may claim any size: neither a larger nor a smaller one is taken, and
        // a claim of an exabyte allocates no more than the stream gives.
        assert_eq!(reader.inflate(&data, 0, 1 << 60), None);
        assert_eq!(reader.inflate(&data, 0, text.len() - 1), None);
        assert_eq!(reader.inflate(&data[..data.len() / 2], 0, text.len()), None);
        assert_eq!(apply_delta(b"base", &[4, 0xff, 0xff, 0xff, 0x7f, 0x91, 0, 4]), None);
    }

    #[test]
    fn headers_and_offsets() {
        // Blob (3) of size 0x1f5 = 0b1_1111_0101: low nibble 5, then 0x1f.
        assert_eq!(header(&[0xb5, 0x1f], 0), Some((3, 0x1f5, 2)));
        assert_eq!(ofs_distance(&[0x05], 0), Some((5, 1)));
        // Two bytes: ((1 + 1) << 7) | 2 = 258.
        assert_eq!(ofs_distance(&[0x81, 0x02], 0), Some((258, 2)));
        assert_eq!(header(&[0x80], 0), None);
    }
}
