//! Pack indexes (`objects/pack/*.idx`, versions 1 and 2) and the multi-pack-index, checked
//! before anything looks an object up through them.
//!
//! An index maps object ids to offsets in its pack. Neither tokenguard's reader nor libgit2
//! may follow an offset the index was never meant to hold: libgit2 reads past the end of the
//! mapped pack and the process dies (SIGSEGV) on a corrupt 32-bit offset. So every index is
//! checked first ([`check_objects`], [`PackIndex::open`]): the fan-out table rises to the
//! object count, the file has exactly the size that count implies, every offset (32-bit, or
//! an entry of the 64-bit table) lies inside the pack's objects, and the pack's header and
//! trailing checksum are those the index was made for (a truncated or swapped pack fails
//! here). This costs one pass over the offset table (4 bytes per object), not a hash of the
//! files. Damage inside objects is found when they are read (see [`super::pack`]).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::{Error, Result};

/// Length of an object id (SHA-1).
pub const OID: usize = 20;
/// Version 2: magic, version, then the fan-out table.
const V2_HEADER: usize = 8 + 256 * 4;
/// Version 1: the fan-out table only.
const V1_HEADER: usize = 256 * 4;
/// A pack's header: `PACK`, version, object count.
const PACK_HEADER: u64 = 12;

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn be64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// A checked pack index, mapped.
pub struct PackIndex {
    map: Mmap,
    /// 1 or 2.
    version: u8,
    count: usize,
    /// Entries of the 64-bit offset table (version 2).
    large: usize,
}

impl PackIndex {
    /// Maps and checks the index at `path` against its pack of `pack_len` bytes whose
    /// header and trailer are `pack_head` (12 bytes) and `pack_tail` (20 bytes). With
    /// `ids`, the object ids are checked too (sorted, each under its fan-out entry): a
    /// binary search through a damaged table could miss an object.
    pub fn open(path: &Path, pack: &PackEnds, ids: bool) -> Result<PackIndex> {
        let bad = |reason: String| Error::Pack { path: path.to_path_buf(), reason };
        let file = File::open(path).map_err(|source| Error::Read { path: path.into(), source })?;
        // SAFETY: git never rewrites an index in place (a new one gets a new name; an old one
        // is only unlinked, which keeps the mapping valid).
        let map = unsafe { Mmap::map(&file) }
            .map_err(|source| Error::Read { path: path.into(), source })?;
        let index = PackIndex::parse(map).map_err(bad)?;
        index.check(pack).map_err(bad)?;
        if ids {
            index.check_ids().map_err(bad)?;
        }
        Ok(index)
    }

    fn parse(map: Mmap) -> std::result::Result<PackIndex, String> {
        let (version, header) = if map.len() >= 8 && map[..4] == *b"\xfftOc" {
            match be32(&map, 4) {
                2 => (2, V2_HEADER),
                v => return Err(format!("index version {v}, which tokenguard cannot check")),
            }
        } else {
            (1, V1_HEADER)
        };
        if map.len() < header + 2 * OID {
            return Err("the index is truncated".into());
        }
        let fan = |b: usize| be32(&map, header - V1_HEADER + b * 4) as usize;
        for b in 1..256 {
            if fan(b) < fan(b - 1) {
                return Err(format!("its fan-out table falls at entry {b}"));
            }
        }
        let count = fan(255);
        let per_object = if version == 2 { OID + 8 } else { OID + 4 };
        let fixed = count
            .checked_mul(per_object)
            .and_then(|n| n.checked_add(header + 2 * OID))
            .filter(|&n| n <= map.len())
            .ok_or("the index is shorter than its object count implies")?;
        let rest = map.len() - fixed;
        let large = match version {
            2 if rest % 8 == 0 => rest / 8,
            _ if rest == 0 => 0,
            _ => return Err("the index's size does not match its object count".into()),
        };
        Ok(PackIndex { map, version, count, large })
    }

    /// Every offset inside the pack's objects, and the pack the index was made for.
    fn check(&self, pack: &PackEnds) -> std::result::Result<(), String> {
        if pack.version != 2 && pack.version != 3 {
            return Err(format!("pack version {}, which tokenguard cannot read", pack.version));
        }
        if pack.count as usize != self.count {
            return Err(format!("the pack holds {} objects, its index {}", pack.count, self.count));
        }
        let len = self.map.len();
        if self.map[len - 2 * OID..len - OID] != pack.trailer {
            return Err("the pack is not the one its index was made for (checksums differ: \
                        truncated, or replaced)"
                .into());
        }
        let end = pack.len - OID as u64;
        let inside = |o: u64| (PACK_HEADER..end).contains(&o);
        for n in 0..self.count {
            let offset = match self.version {
                1 => u64::from(be32(&self.map, V1_HEADER + n * (OID + 4))),
                _ => {
                    let v = be32(&self.map, self.small_offsets() + n * 4);
                    if v & 0x8000_0000 == 0 {
                        u64::from(v)
                    } else {
                        let k = (v & 0x7fff_ffff) as usize;
                        if k >= self.large {
                            return Err(format!(
                                "object {n} names a 64-bit offset the index lacks"
                            ));
                        }
                        be64(&self.map, self.small_offsets() + self.count * 4 + k * 8)
                    }
                }
            };
            if !inside(offset) {
                return Err(format!("object {n} has offset {offset}, outside the pack"));
            }
        }
        Ok(())
    }

    /// Ids sorted, each under the fan-out entry of its first byte.
    fn check_ids(&self) -> std::result::Result<(), String> {
        let mut prev: Option<&[u8]> = None;
        let mut byte = 0usize;
        for n in 0..self.count {
            let id = self.id(n);
            if prev.is_some_and(|p| p >= id) {
                return Err(format!("its object ids are out of order at entry {n}"));
            }
            while n >= self.fan(byte) {
                byte += 1;
            }
            if usize::from(id[0]) != byte {
                return Err(format!("object {n} sits under the wrong fan-out entry"));
            }
            prev = Some(id);
        }
        Ok(())
    }

    fn fan(&self, b: usize) -> usize {
        let base = if self.version == 2 { 8 } else { 0 };
        be32(&self.map, base + b * 4) as usize
    }

    fn small_offsets(&self) -> usize {
        V2_HEADER + self.count * (OID + 4)
    }

    /// How many objects the index lists.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the index lists no object.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The id of the object at position `n`.
    pub fn id(&self, n: usize) -> &[u8] {
        let at = match self.version {
            1 => V1_HEADER + n * (OID + 4) + 4,
            _ => V2_HEADER + n * OID,
        };
        &self.map[at..at + OID]
    }

    /// The position of object `id`.
    pub fn find(&self, id: &[u8]) -> Option<usize> {
        let first = usize::from(id[0]);
        let mut lo = if first == 0 { 0 } else { self.fan(first - 1) };
        let mut hi = self.fan(first);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.id(mid).cmp(id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// The offset in the pack of the object at position `n` (checked at open).
    pub fn offset(&self, n: usize) -> u64 {
        match self.version {
            1 => u64::from(be32(&self.map, V1_HEADER + n * (OID + 4))),
            _ => {
                let v = be32(&self.map, self.small_offsets() + n * 4);
                if v & 0x8000_0000 == 0 {
                    u64::from(v)
                } else {
                    let k = (v & 0x7fff_ffff) as usize;
                    be64(&self.map, self.small_offsets() + self.count * 4 + k * 8)
                }
            }
        }
    }
}

/// What the index check needs of a pack: its length, header fields and trailing checksum.
pub struct PackEnds {
    len: u64,
    version: u32,
    count: u32,
    trailer: [u8; OID],
}

impl PackEnds {
    /// Reads the ends of the pack at `path` (two small reads; the pack is not mapped).
    pub fn read(path: &Path) -> Result<PackEnds> {
        let file = File::open(path).map_err(|source| Error::Read { path: path.into(), source })?;
        let len =
            file.metadata().map_err(|source| Error::Read { path: path.into(), source })?.len();
        let mut head = [0u8; PACK_HEADER as usize];
        let mut trailer = [0u8; OID];
        if len < PACK_HEADER + OID as u64 {
            return Err(Error::Pack { path: path.into(), reason: "the pack is truncated".into() });
        }
        file.read_exact_at(&mut head, 0)
            .and_then(|()| file.read_exact_at(&mut trailer, len - OID as u64))
            .map_err(|source| Error::Read { path: path.into(), source })?;
        PackEnds::parse(path, len, &head, trailer)
    }

    /// The ends of a pack already mapped.
    pub fn of(path: &Path, data: &[u8]) -> Result<PackEnds> {
        if data.len() < PACK_HEADER as usize + OID {
            return Err(Error::Pack { path: path.into(), reason: "the pack is truncated".into() });
        }
        let trailer = data[data.len() - OID..].try_into().expect("20 bytes");
        PackEnds::parse(path, data.len() as u64, &data[..PACK_HEADER as usize], trailer)
    }

    fn parse(path: &Path, len: u64, head: &[u8], trailer: [u8; OID]) -> Result<PackEnds> {
        if head[..4] != *b"PACK" {
            return Err(Error::Pack { path: path.into(), reason: "not a pack file".into() });
        }
        Ok(PackEnds { len, version: be32(head, 4), count: be32(head, 8), trailer })
    }
}

/// The object folders a repository reads: `objects` and its alternates (the folders listed
/// in `info/alternates`, relative to the folder that lists them, recursively as git does, up
/// to five levels).
pub fn object_dirs(objects: &Path) -> Vec<PathBuf> {
    let mut out = vec![objects.to_path_buf()];
    let mut level = vec![objects.to_path_buf()];
    for _ in 0..5 {
        let mut next = Vec::new();
        for dir in &level {
            let Ok(text) = std::fs::read_to_string(dir.join("info/alternates")) else { continue };
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'))
            {
                let alt = dir.join(line);
                let alt = alt.canonicalize().unwrap_or(alt);
                if !out.contains(&alt) {
                    out.push(alt.clone());
                    next.push(alt);
                }
            }
        }
        level = next;
    }
    out
}

/// The packs of an object folder: each `.idx` with its `.pack`. An index without its pack
/// is left out (git leaves it out too; libgit2 cannot open it).
pub fn pack_indexes(objects: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
    let dir = objects.join("pack");
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(Error::Read { path: dir, source }),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|source| Error::Read { path: dir.clone(), source })?.path();
        if path.extension().is_some_and(|e| e == "idx") {
            let pack = path.with_extension("pack");
            if pack.exists() {
                out.push((path, pack));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Checks every pack index (and the multi-pack-index) of `objects` and its alternates, as
/// libgit2 will use them: see the module documentation. One pass over each index's offsets.
pub fn check_objects(objects: &Path) -> Result<()> {
    for dir in object_dirs(objects) {
        for (idx, pack) in pack_indexes(&dir)? {
            match PackEnds::read(&pack).and_then(|ends| PackIndex::open(&idx, &ends, false)) {
                Err(e) if !vanished(&e) => return Err(e),
                _ => {}
            }
        }
        check_midx(&dir.join("pack"))?;
    }
    Ok(())
}

/// Whether `e` says a file is gone: a pack that a concurrent `git repack` removed after the
/// folder was listed, which git and libgit2 pass over too.
pub fn vanished(e: &Error) -> bool {
    matches!(e, Error::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

/// Checks the multi-pack-index of a pack folder, if there is one (libgit2 looks objects up
/// through it): every object's pack is listed and its offset lies inside that pack.
pub fn check_midx(pack_dir: &Path) -> Result<()> {
    let path = pack_dir.join("multi-pack-index");
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(Error::Read { path, source }),
    };
    midx_offsets(&data, |name| std::fs::metadata(pack_dir.join(name)).ok().map(|m| m.len()))
        .map_err(|reason| Error::Pack { path, reason })
}

/// The checks of [`check_midx`] on the file's bytes; `pack_len` gives a listed pack's size.
fn midx_offsets(
    d: &[u8],
    pack_len: impl Fn(&str) -> Option<u64>,
) -> std::result::Result<(), String> {
    let err = |s: &str| Err(s.to_string());
    if d.len() < 12 + OID || d[..4] != *b"MIDX" {
        return err("not a multi-pack-index");
    }
    if d[4] != 1 || d[5] != 1 {
        return Ok(()); // libgit2 reads version 1 for SHA-1 only, and ignores any other
    }
    let (chunks, packs) = (usize::from(d[6]), be32(d, 8) as usize);
    let table = 12;
    if d.len() < table + (chunks + 1) * 12 + OID {
        return err("the multi-pack-index is truncated");
    }
    let mut found: [(u32, usize, usize); 5] = [(0, 0, 0); 5];
    let ids = [*b"PNAM", *b"OIDF", *b"OIDL", *b"OOFF", *b"LOFF"].map(u32::from_be_bytes);
    for c in 0..chunks {
        let at = table + c * 12;
        let (id, start, end) = (be32(d, at), be64(d, at + 4), be64(d, at + 16));
        if start > end || end > (d.len() - OID) as u64 {
            return err("a multi-pack-index chunk lies outside the file");
        }
        if let Some(k) = ids.iter().position(|&i| i == id) {
            found[k] = (id, start as usize, end as usize);
        }
    }
    let chunk = |k: usize| &d[found[k].1..found[k].2];
    if found[..4].iter().any(|c| c.0 == 0) {
        return err("the multi-pack-index lacks a required chunk");
    }
    let names: Vec<&[u8]> = chunk(0).split(|&b| b == 0).filter(|n| !n.is_empty()).collect();
    if names.len() != packs {
        return err("the multi-pack-index names another number of packs than it holds");
    }
    let lens: Vec<Option<u64>> = names
        .iter()
        .map(|n| {
            let name = String::from_utf8_lossy(n);
            pack_len(&name.replace(".idx", ".pack"))
        })
        .collect();
    let fan = chunk(1);
    if fan.len() != 1024 {
        return err("the multi-pack-index fan-out table has the wrong size");
    }
    for b in 1..256 {
        if be32(fan, b * 4) < be32(fan, (b - 1) * 4) {
            return err("the multi-pack-index fan-out table falls");
        }
    }
    let count = be32(fan, 255 * 4) as usize;
    let (oidl, ooff, loff) = (chunk(2), chunk(3), chunk(4));
    if Some(oidl.len()) != count.checked_mul(OID) || Some(ooff.len()) != count.checked_mul(8) {
        return err("the multi-pack-index tables do not match its object count");
    }
    if loff.len() % 8 != 0 {
        return err("the multi-pack-index 64-bit offsets are truncated");
    }
    for n in 0..count {
        let pack = be32(ooff, n * 8) as usize;
        let v = be32(ooff, n * 8 + 4);
        let offset = if v & 0x8000_0000 == 0 {
            u64::from(v)
        } else {
            let k = (v & 0x7fff_ffff) as usize;
            if (k + 1) * 8 > loff.len() {
                return err("a multi-pack-index entry names a 64-bit offset it lacks");
            }
            be64(loff, k * 8)
        };
        let len = lens.get(pack).ok_or("a multi-pack-index entry names no listed pack")?;
        // A listed pack that is gone: libgit2 then does not use the multi-pack-index.
        if let Some(len) = *len {
            if offset < PACK_HEADER || offset >= len.saturating_sub(OID as u64) {
                return Err(format!("object {n} has offset {offset}, outside its pack"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::git::test_git::git;

    /// A packed repository: its pack folder and its one index and pack.
    fn packed() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        git(d, &["init", "-q"]);
        for i in 0..30 {
            std::fs::write(d.join(format!("f{i}")), format!("{i}\n").repeat(i + 1)).unwrap();
        }
        git(d, &["add", "-A"]);
        git(d, &["commit", "-qm", "c"]);
        git(d, &["repack", "-adq"]);
        let (idx, pack) = pack_indexes(&d.join(".git/objects")).unwrap().remove(0);
        (tmp, idx, pack)
    }

    fn open(idx: &Path, pack: &Path) -> Result<PackIndex> {
        PackIndex::open(idx, &PackEnds::read(pack)?, true)
    }

    fn edit(path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
        let mut b = std::fs::read(path).unwrap();
        f(&mut b);
        std::fs::write(path, b).unwrap();
    }

    #[test]
    fn a_sound_index_opens_and_finds_every_object() {
        let (tmp, idx, pack) = packed();
        let index = open(&idx, &pack).unwrap();
        let ids =
            git(tmp.path(), &["cat-file", "--batch-all-objects", "--batch-check=%(objectname)"]);
        assert_eq!(index.len(), ids.lines().count());
        for id in ids.lines() {
            let raw = git2::Oid::from_str(id).unwrap();
            let n = index.find(raw.as_bytes()).unwrap();
            assert_eq!(index.id(n), raw.as_bytes());
            assert!(index.offset(n) >= 12);
        }
        assert_eq!(index.find(&[0xff; 20]), None);
        check_objects(&tmp.path().join(".git/objects")).unwrap();
    }

    #[test]
    fn a_version_1_index_reads_as_version_2() {
        let (tmp, idx, pack) = packed();
        let v1 = tmp.path().join("v1.idx");
        git(
            tmp.path(),
            &[
                "index-pack",
                "--index-version=1",
                "-o",
                v1.to_str().unwrap(),
                pack.to_str().unwrap(),
            ],
        );
        assert_ne!(std::fs::read(&v1).unwrap()[..4], *b"\xfftOc", "a version 1 index");
        let (a, b) = (open(&idx, &pack).unwrap(), open(&v1, &pack).unwrap());
        assert_eq!(a.len(), b.len());
        for n in 0..a.len() {
            assert_eq!((a.id(n), a.offset(n)), (b.id(n), b.offset(n)));
            assert_eq!(b.find(a.id(n)), Some(n));
        }
        edit(&v1, |b| b[V1_HEADER..V1_HEADER + 4].copy_from_slice(&0x00ff_ffffu32.to_be_bytes()));
        let e = open(&v1, &pack).err().expect("refused").to_string();
        assert!(e.contains("outside the pack"), "{e}");
    }

    fn count(b: &[u8]) -> usize {
        be32(b, 8 + 255 * 4) as usize
    }

    #[test]
    fn damaged_indexes_and_packs_are_refused_naming_the_file() {
        type Damage = fn(&mut Vec<u8>);
        let cases: [(&str, Damage); 6] = [
            ("offset past the pack", |b| {
                let at = V2_HEADER + count(b) * 24;
                b[at..at + 4].copy_from_slice(&0x00ff_ffffu32.to_be_bytes());
            }),
            ("64-bit offset missing", |b| {
                let at = V2_HEADER + count(b) * 24 + 4;
                b[at..at + 4].copy_from_slice(&0x8000_0000u32.to_be_bytes());
            }),
            ("fan-out falling", |b| {
                b[8 + 100 * 4..8 + 101 * 4].copy_from_slice(&0xffffu32.to_be_bytes());
            }),
            ("truncated", |b| b.truncate(b.len() - 7)),
            ("ids out of order", |b| {
                // Swap the first two ids.
                let (first, second) = (V2_HEADER, V2_HEADER + OID);
                let a = b[first..second].to_vec();
                b.copy_within(second..second + OID, first);
                b[second..second + OID].copy_from_slice(&a);
            }),
            ("the pack truncated", |_| {}),
        ];
        for (what, damage) in cases {
            let (tmp, idx, pack) = packed();
            if what == "the pack truncated" {
                edit(&pack, |b| b.truncate(b.len() - 100));
            } else {
                edit(&idx, damage);
            }
            let e = open(&idx, &pack).err().unwrap_or_else(|| panic!("{what}: accepted"));
            let text = e.to_string();
            assert!(text.starts_with("damaged pack "), "{what}: {text}");
            assert!(text.contains(&idx.display().to_string()), "{what}: {text}");
            // The quick check (for libgit2) looks at offsets, not ids.
            if what != "ids out of order" {
                assert!(check_objects(&tmp.path().join(".git/objects")).is_err(), "{what}");
            }
        }
    }

    #[test]
    fn multi_pack_index_offsets_are_checked() {
        let (tmp, _, pack) = packed();
        let d = tmp.path();
        git(d, &["multi-pack-index", "write"]);
        let midx = d.join(".git/objects/pack/multi-pack-index");
        check_objects(&d.join(".git/objects")).unwrap();
        let len = std::fs::metadata(&pack).unwrap().len();
        let data = std::fs::read(&midx).unwrap();
        let ok = |name: &str| name.ends_with(".pack").then_some(len);
        midx_offsets(&data, ok).unwrap();
        // Point the first object's offset past the pack.
        let chunks = usize::from(data[6]);
        let ooff = (0..chunks)
            .map(|c| 12 + c * 12)
            .find(|&at| data[at..at + 4] == *b"OOFF")
            .map(|at| be64(&data, at + 4) as usize)
            .unwrap();
        let mut bad = data.clone();
        bad[ooff + 4..ooff + 8].copy_from_slice(&0x00ff_ffffu32.to_be_bytes());
        assert!(midx_offsets(&bad, ok).unwrap_err().contains("outside its pack"));
        let mut bad = data;
        bad[ooff..ooff + 4].copy_from_slice(&7u32.to_be_bytes());
        assert!(midx_offsets(&bad, ok).is_err());
    }
}
