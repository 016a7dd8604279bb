//! A reader of git pack files for the history scan: objects read straight from the mapped
//! `.pack`/`.idx` files, with a per-reader cache of recently read objects (delta bases).
//!
//! Why not libgit2 alone: its pack reader takes a lock per pack for every object (the two
//! workers of a history scan wait on each other), and its delta-base cache is fixed at
//! 16 MiB per pack and emptied whole when full, so on a repository of large files the same
//! delta chains are inflated again and again. Here each worker has its own reader and cache,
//! and nothing is locked.
//!
//! Every index is checked when the packs are opened ([`super::idx`]): a damaged one fails the
//! scan before any object is read. An object is checked as git checks it when reading: each
//! zlib stream must end where it should with its Adler-32 checksum right, and every size
//! (the entry's, a delta's base and result) must match. Damage is an error ([`Damage`]),
//! never a silent fallback. What the reader does not handle (loose objects, a `REF_DELTA`
//! whose base is in another pack) is `None`, and the caller reads it through libgit2.

use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flate2::{Decompress, FlushDecompress, Status};
use git2::{ObjectType, Oid};
use memmap2::Mmap;

use super::idx::{self, PackEnds, PackIndex, OID};
use super::large::{DeltaStream, Inflate, Place};
use super::objects::check_tree;
use crate::{Error, Result};

/// The packs of a repository (`objects/pack/*.idx` and their `.pack`, and those of its
/// alternates), checked and mapped.
pub struct Packs {
    packs: Vec<Pack>,
}

struct Pack {
    index: PackIndex,
    data: Mmap,
    path: PathBuf,
}

impl Packs {
    /// Maps and checks every pack of `objects` (a repository's `objects` folder) and of its
    /// alternates. A damaged index or pack is an error naming it.
    pub fn open(objects: &Path) -> Result<Packs> {
        let mut packs = Vec::new();
        for dir in idx::object_dirs(objects) {
            for (idx_path, pack_path) in idx::pack_indexes(&dir)? {
                match Pack::open(&idx_path, pack_path) {
                    Ok(pack) => packs.push(pack),
                    Err(e) if idx::vanished(&e) => {} // removed by a concurrent repack
                    Err(e) => return Err(e),
                }
            }
            // libgit2 looks objects up through the multi-pack-index when there is one.
            idx::check_midx(&dir.join("pack"))?;
        }
        Ok(Packs { packs })
    }

    /// How many packs are mapped.
    pub fn len(&self) -> usize {
        self.packs.len()
    }

    /// Whether no pack is mapped.
    pub fn is_empty(&self) -> bool {
        self.packs.is_empty()
    }

    /// The path of pack `n` (as [`Damage::pack`] names it).
    pub fn path(&self, n: usize) -> &Path {
        &self.packs[n].path
    }

    /// The mapped bytes of pack `n`.
    pub fn bytes(&self, n: usize) -> &[u8] {
        &self.packs[n].data
    }

    /// Whether a pack holds object `id` (its index lists it).
    pub fn contains(&self, id: Oid) -> bool {
        self.packs.iter().any(|p| p.index.find(id.as_bytes()).is_some())
    }
}

/// What [`Reader::open_stream`] found.
pub enum Opened {
    /// A stream of the blob.
    Stream(Box<dyn Read>),
    /// A pack holds it, but not as a blob of the size asked for, or in a form read whole.
    Whole,
    /// No pack holds it.
    NotInPacks,
}

impl Pack {
    fn open(idx_path: &Path, path: PathBuf) -> Result<Pack> {
        let read_err = |source| Error::Read { path: path.clone(), source };
        let file = File::open(&path).map_err(read_err)?;
        // SAFETY: git never rewrites a pack in place; a new one gets a new name, and an old
        // one is only unlinked, which keeps the mapping valid.
        let data = unsafe { Mmap::map(&file) }.map_err(read_err)?;
        let index = PackIndex::open(idx_path, &PackEnds::of(&path, &data)?, true)?;
        Ok(Pack { index, data, path })
    }
}

/// Where and how a pack's content is damaged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Which pack ([`Packs::path`]).
    pub pack: usize,
    /// The offset of the damaged entry.
    pub offset: u64,
    /// What is wrong.
    pub what: String,
}

/// An object's content, shared with the cache.
pub type Content = Arc<Vec<u8>>;

/// Reads objects from [`Packs`] with a cache of recent objects; one per thread.
pub struct Reader {
    packs: Arc<Packs>,
    inflate: Decompress,
    cache: HashMap<(u32, u64), (Content, ObjectType, u64), BuildHasherDefault<OffsetHasher>>,
    cached_bytes: usize,
    /// Scratch space for evictions (the ages of the cached entries).
    ages: Vec<u64>,
    limit: usize,
    tick: u64,
}

/// Hashes a cache key (pack number, offset): offsets are distinct and spread, so a
/// multiplication mixes them enough (SipHash cost more than the lookup).
#[derive(Default)]
pub struct OffsetHasher(u64);

impl Hasher for OffsetHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, v: u32) {
        self.0 = (self.0 ^ u64::from(v)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(29) ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
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
            inflate: Decompress::new(true),
            cache: HashMap::default(),
            cached_bytes: 0,
            ages: Vec::new(),
            limit: cache_bytes,
            tick: 0,
        }
    }

    /// Object `id` and its kind; `None` when it is in no pack, or in one only in a form this
    /// reader leaves to libgit2 (a `REF_DELTA` whose base is in another pack). Damage is an
    /// error, unless another pack holds a sound copy.
    pub fn read(&mut self, id: Oid) -> Result<Option<(ObjectType, Content)>, Damage> {
        let bytes = id.as_bytes();
        if bytes.len() != OID {
            return Ok(None);
        }
        let packs = Arc::clone(&self.packs);
        let mut damage = None;
        for (n, pack) in packs.packs.iter().enumerate() {
            if let Some(pos) = pack.index.find(bytes) {
                let at = pack.index.offset(pos);
                match self.read_at(n, pack, at) {
                    Ok(Some(hit)) => return Ok(Some(hit)),
                    Ok(None) => {}
                    Err(d) => {
                        damage.get_or_insert(d);
                    }
                }
            }
        }
        damage.map_or(Ok(None), Err)
    }

    /// Blob `id` as a stream, when a pack holds it and it is at least `min` bytes: a whole
    /// entry inflated as it is read, or a delta applied as it is read (its base rebuilt in
    /// memory: see [`super::large`]).
    pub fn open_stream(&mut self, id: Oid, min: u64) -> Result<Opened, Damage> {
        let packs = Arc::clone(&self.packs);
        let Some((n, pack, at)) =
            packs.packs.iter().enumerate().find_map(|(n, p)| {
                p.index.find(id.as_bytes()).map(|pos| (n, p, p.index.offset(pos)))
            })
        else {
            return Ok(Opened::NotInPacks);
        };
        let damaged = |at: u64, what: &str| Damage { pack: n, offset: at, what: what.into() };
        let place = |offset: u64| Place { id, pack: packs.path(n).to_path_buf(), offset };
        let start = usize::try_from(at).map_err(|_| damaged(at, "offset too large"))?;
        let (kind, size, data) =
            header(&pack.data, start).ok_or_else(|| damaged(at, "bad entry header"))?;
        let base_at = match kind {
            3 if size as u64 >= min => {
                let inflate = Inflate::new(Arc::clone(&packs), n, data, size as u64, place(at));
                return Ok(Opened::Stream(Box::new(inflate)));
            }
            6 => {
                let (distance, data) = ofs_distance(&pack.data, data)
                    .ok_or_else(|| damaged(at, "bad delta base offset"))?;
                let base = at
                    .checked_sub(distance)
                    .filter(|&b| b >= 12 && distance > 0)
                    .ok_or_else(|| damaged(at, "delta base outside the pack"))?;
                Some((base, data))
            }
            7 => {
                let base = pack
                    .data
                    .get(data..data + OID)
                    .ok_or_else(|| damaged(at, "truncated delta"))?;
                pack.index.find(base).map(|pos| (pack.index.offset(pos), data + OID))
            }
            _ => None,
        };
        // A delta: stream it when its result is large (its header says how large).
        let Some((base_at, delta_at)) = base_at else { return Ok(Opened::Whole) };
        let result = self.delta_result_size(&pack.data, delta_at, size);
        if result.is_none_or(|r| r < min) {
            return Ok(Opened::Whole); // read whole, which names any damage
        }
        let Some((kind, base)) = self.read_at(n, pack, base_at)? else {
            return Ok(Opened::Whole);
        };
        if kind != ObjectType::Blob {
            return Ok(Opened::Whole);
        }
        let delta = Inflate::new(Arc::clone(&packs), n, delta_at, size as u64, place(at));
        match DeltaStream::new(base, delta, place(at)) {
            Ok(stream) => Ok(Opened::Stream(Box::new(stream))),
            Err(_) => Err(damaged(at, "bad delta")),
        }
    }

    /// The result size a delta's header gives (the second of its two sizes), inflating only
    /// its first bytes.
    fn delta_result_size(&mut self, data: &[u8], at: usize, size: usize) -> Option<u64> {
        let input = data.get(at..data.len().saturating_sub(OID))?;
        let mut head = [0u8; 20];
        self.inflate.reset(true);
        self.inflate.decompress(input, &mut head, FlushDecompress::None).ok()?;
        let made = (self.inflate.total_out() as usize).min(size).min(head.len());
        let mut i = 0;
        delta_size(&head[..made], &mut i)?;
        delta_size(&head[..made], &mut i).map(|s| s as u64)
    }

    fn read_at(
        &mut self,
        n: usize,
        pack: &Pack,
        offset: u64,
    ) -> Result<Option<(ObjectType, Content)>, Damage> {
        self.tick += 1;
        let key = n as u32;
        let mut chain: Vec<Link> = Vec::new();
        let mut at = offset;
        let damaged = |at: u64, what: &str| Damage { pack: n, offset: at, what: what.into() };
        let (kind, mut content) = loop {
            if let Some((c, k, used)) = self.cache.get_mut(&(key, at)) {
                *used = self.tick;
                break (*k, c.clone());
            }
            if chain.len() > MAX_DEPTH {
                return Err(damaged(offset, "a delta chain longer than git ever writes"));
            }
            let start = usize::try_from(at).map_err(|_| damaged(at, "offset too large"))?;
            let (kind, size, data) =
                header(&pack.data, start).ok_or_else(|| damaged(at, "bad entry header"))?;
            match kind {
                1..=4 => {
                    let kind = match kind {
                        1 => ObjectType::Commit,
                        2 => ObjectType::Tree,
                        3 => ObjectType::Blob,
                        _ => ObjectType::Tag,
                    };
                    let content =
                        self.inflate(&pack.data, data, size).map_err(|w| damaged(at, w))?;
                    if kind == ObjectType::Tree {
                        check_tree(&content).map_err(|w| damaged(at, w))?;
                    }
                    let content = Arc::new(content);
                    self.keep(key, at, &content, kind);
                    break (kind, content);
                }
                6 => {
                    let (distance, data) = ofs_distance(&pack.data, data)
                        .ok_or_else(|| damaged(at, "bad delta base offset"))?;
                    chain.push(Link { offset: at, data, size });
                    at = at
                        .checked_sub(distance)
                        .filter(|&b| b >= 12 && distance > 0)
                        .ok_or_else(|| damaged(at, "delta base outside the pack"))?;
                }
                7 => {
                    let base = pack
                        .data
                        .get(data..data + OID)
                        .ok_or_else(|| damaged(at, "truncated delta base id"))?;
                    chain.push(Link { offset: at, data: data + OID, size });
                    match pack.index.find(base) {
                        Some(pos) => at = pack.index.offset(pos),
                        None => return Ok(None), // a base in another pack: libgit2 finds it
                    }
                }
                k => return Err(damaged(at, &format!("unknown entry type {k}"))),
            }
        };
        for link in chain.iter().rev() {
            let delta = self
                .inflate(&pack.data, link.data, link.size)
                .map_err(|w| damaged(link.offset, w))?;
            let applied =
                apply_delta(&content, &delta).ok_or_else(|| damaged(link.offset, "bad delta"))?;
            if kind == ObjectType::Tree {
                check_tree(&applied).map_err(|w| damaged(link.offset, w))?;
            }
            content = Arc::new(applied);
            self.keep(key, link.offset, &content, kind);
        }
        Ok(Some((kind, content)))
    }

    /// Inflates the zlib stream at `at`, which must hold exactly `size` bytes and end with
    /// its Adler-32 checksum right (zlib checks it at the end of the stream).
    fn inflate(&mut self, data: &[u8], at: usize, size: usize) -> Result<Vec<u8>, &'static str> {
        let input = data
            .get(at..data.len().saturating_sub(OID))
            .filter(|i| !i.is_empty())
            .ok_or("entry past the end of the pack")?;
        // The size comes from the pack: a corrupt or hostile one may claim terabytes, so the
        // buffer grows with what the stream really gives (one byte past `size` proves a lie).
        let mut out = Vec::with_capacity(size.min(64 << 10) + 1);
        self.inflate.reset(true);
        let mut rest = input;
        loop {
            let before = self.inflate.total_in();
            let status = self
                .inflate
                .decompress_vec(rest, &mut out, FlushDecompress::Finish)
                .map_err(|_| "zlib stream damaged (or its checksum wrong)")?;
            let used = usize::try_from(self.inflate.total_in() - before).unwrap_or(usize::MAX);
            rest = rest.get(used..).ok_or("zlib stream damaged")?;
            if status == Status::StreamEnd {
                break;
            }
            if out.len() > size {
                return Err("an object larger than its entry says");
            }
            if out.len() < out.capacity() {
                return Err("zlib stream cut short"); // no progress with room left
            }
            out.reserve(out.capacity().min(size + 1 - out.len()));
        }
        if out.len() != size {
            return Err("an object of another size than its entry says");
        }
        Ok(out)
    }

    fn keep(&mut self, n: u32, offset: u64, content: &Content, kind: ObjectType) {
        if content.len() > MAX_CACHED || self.limit == 0 {
            return;
        }
        // Drop the least recently used quarter of the entries until the new one fits in
        // three quarters of the limit: a linear pass each time (a sort of the whole cache
        // on every eviction was a tenth of the time of reading a pack through).
        let target = self.limit / 4 * 3;
        if self.cached_bytes + content.len() > self.limit {
            while self.cached_bytes + content.len() > target && !self.cache.is_empty() {
                self.ages.clear();
                self.ages.extend(self.cache.values().map(|(_, _, used)| *used));
                let cut = (self.ages.len() / 4).max(1).min(self.ages.len() - 1);
                let oldest_kept = *self.ages.select_nth_unstable(cut).1;
                let mut freed = 0;
                self.cache.retain(|_, (c, _, used)| {
                    let keep = *used >= oldest_kept;
                    if !keep {
                        freed += c.len();
                    }
                    keep
                });
                if freed == 0 {
                    // Every entry as recent as the rest (one delta chain): start afresh.
                    self.cache.clear();
                    self.cached_bytes = 0;
                }
                self.cached_bytes -= freed;
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
        let packs = Packs::open(&dir.join(".git/objects")).unwrap();
        let mut reader = Reader::new(Arc::new(packs), 1 << 16);
        let (mut read, mut left) = (0, 0);
        let ids = git(dir, &["cat-file", "--batch-all-objects", "--batch-check=%(objectname)"]);
        // Twice: the second pass reads through a warm (and, at 64 KiB, evicting) cache.
        for _ in 0..2 {
            for id in ids.lines() {
                let id = Oid::from_str(id).unwrap();
                let want = odb.read(id).unwrap();
                match reader.read(id).unwrap() {
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
        assert_eq!(Packs::open(&d.join(".git/objects")).unwrap().len(), 2);
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
        let mut reader = Reader::new(Arc::new(Packs::open(dir.path()).unwrap()), 0);
        let text = b"hello, world\n".repeat(20_000);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&text).unwrap();
        let mut data = z.finish().unwrap();
        data.extend_from_slice(&[0; OID]); // the pack's trailing checksum
        assert_eq!(reader.inflate(&data, 0, text.len()).as_deref(), Ok(&text[..]));
        // A hostile pack may claim any size: neither a larger nor a smaller one is taken, and
        // a claim of an exabyte allocates no more than the stream gives.
        assert!(reader.inflate(&data, 0, 1 << 60).is_err());
        assert!(reader.inflate(&data, 0, text.len() - 1).is_err());
        assert!(reader.inflate(&data[..data.len() / 2], 0, text.len()).is_err());
        // A stream whose content or checksum changed: zlib's Adler-32 check fails, whether the
        // flip lands in the deflate data (most are caught by the stream's own structure
        // anyway) or in the checksum itself.
        let end = data.len() - OID;
        for at in [end - 1, end - 4] {
            let mut bad = data.clone();
            bad[at] ^= 0x01;
            assert!(reader.inflate(&bad, 0, text.len()).is_err(), "flip at {at}");
        }
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
