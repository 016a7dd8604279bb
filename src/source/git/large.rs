//! Large blobs read as streams, so that memory stays bounded whatever a blob's size (anyone
//! who can push can send a blob of gigabytes that packs into a few kilobytes). Three forms:
//! - a whole pack entry, inflated in pieces straight from the mapped pack ([`Inflate`]);
//! - a pack entry stored as a delta ([`DeltaStream`]): a delta copies from anywhere in its
//!   base, so the base is rebuilt in memory, but the delta is inflated and applied as it is
//!   read: the blob itself is never held whole (the bound is its base's size);
//! - a loose object, inflated from its file and hashed as it is read ([`Loose`]).
//!
//! Each checks what the readers of whole objects check: the sizes, zlib's checksum, a delta's
//! instructions, a loose object's hash. A stream that does not check out fails at the read
//! where that shows (at the latest the last one, before the end is reported), with a
//! [`crate::Error::Object`] inside the `io::Error`: a scan never takes a damaged blob as read.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flate2::{Decompress, FlushDecompress, Status};
use git2::{ObjectType, Oid};
use sha1::Digest;

use super::idx::OID;
use super::pack::{Content, Packs};
use crate::error::Problem;
use crate::Error;

/// Blobs at least this large are read as streams (smaller ones are read whole, and kept in
/// the reader's cache when they fit).
pub const STREAM_MIN: u64 = 4 << 20;

/// An `io::Error` that carries the object error of blob `id`.
fn damaged(id: Oid, what: String) -> io::Error {
    io::Error::other(Error::object(id, ObjectType::Blob, Problem::Damaged(what)))
}

/// Where an entry stands, for messages: the object, its pack, the entry's offset.
#[derive(Clone)]
pub struct Place {
    /// The blob read.
    pub id: Oid,
    /// The pack file.
    pub pack: PathBuf,
    /// The offset of the entry (the delta's, for a delta).
    pub offset: u64,
}

impl Place {
    fn damaged(&self, what: &str) -> io::Error {
        damaged(self.id, format!("{what} at offset {} of {}", self.offset, self.pack.display()))
    }
}

/// A zlib stream in a mapped pack, inflated as it is read: it must give exactly `size`
/// bytes and end with its checksum right.
pub struct Inflate {
    packs: Arc<Packs>,
    pack: usize,
    /// The next input byte.
    pos: usize,
    size: u64,
    out: u64,
    z: Decompress,
    done: bool,
    place: Place,
}

impl Inflate {
    /// The stream of `size` bytes that starts at `pos` in pack `pack`.
    pub fn new(packs: Arc<Packs>, pack: usize, pos: usize, size: u64, place: Place) -> Inflate {
        Inflate { packs, pack, pos, size, out: 0, z: Decompress::new(true), done: false, place }
    }

    /// The size the entry says.
    pub fn size(&self) -> u64 {
        self.size
    }
}

impl Read for Inflate {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let data = self.packs.bytes(self.pack);
        let end = data.len().saturating_sub(OID);
        loop {
            let input = data.get(self.pos..end).unwrap_or_default();
            let (before_in, before_out) = (self.z.total_in(), self.z.total_out());
            let status = self
                .z
                .decompress(input, buf, FlushDecompress::None)
                .map_err(|_| self.place.damaged("zlib stream damaged (or its checksum wrong)"))?;
            let used = (self.z.total_in() - before_in) as usize;
            let made = (self.z.total_out() - before_out) as usize;
            self.pos += used;
            self.out += made as u64;
            if self.out > self.size {
                return Err(self.place.damaged("an object larger than its entry says"));
            }
            if status == Status::StreamEnd {
                if self.out != self.size {
                    return Err(self
                        .place
                        .damaged("an object of another size than its entry says"));
                }
                self.done = true;
                return Ok(made);
            }
            if made > 0 {
                return Ok(made);
            }
            if used == 0 {
                return Err(self.place.damaged("zlib stream cut short"));
            }
        }
    }
}

/// A git delta applied as it is read: copies from `base` (in memory) and inserts from the
/// delta's own stream.
pub struct DeltaStream {
    base: Content,
    delta: BufReader<Inflate>,
    size: u64,
    out: u64,
    /// What is left of the copy being made.
    copy: Range<usize>,
    /// Bytes left of the insert being made.
    insert: usize,
    place: Place,
}

/// A delta's little-endian base-128 size, read from a stream.
fn read_size(r: &mut impl Read) -> io::Result<Option<u64>> {
    let mut size = 0u64;
    for shift in (0..64).step_by(7) {
        let mut b = [0u8];
        if r.read(&mut b)? == 0 {
            return Ok(None);
        }
        size |= u64::from(b[0] & 0x7f) << shift;
        if b[0] & 0x80 == 0 {
            return Ok(Some(size));
        }
    }
    Ok(None)
}

impl DeltaStream {
    /// Reads the delta's header: the base size (which must be `base`'s) and the result's.
    pub fn new(base: Content, delta: Inflate, place: Place) -> io::Result<DeltaStream> {
        let mut delta = BufReader::with_capacity(64 << 10, delta);
        let base_size = read_size(&mut delta)?;
        let size = read_size(&mut delta)?;
        match (base_size, size) {
            (Some(b), Some(size)) if b == base.len() as u64 => {
                Ok(DeltaStream { base, delta, size, out: 0, copy: 0..0, insert: 0, place })
            }
            _ => Err(place.damaged("bad delta")),
        }
    }

    /// The size of the result.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn byte(&mut self) -> io::Result<u8> {
        let mut b = [0u8];
        match self.delta.read(&mut b)? {
            0 => Err(self.place.damaged("bad delta")),
            _ => Ok(b[0]),
        }
    }

    /// Reads the next instruction; `false` at the end of the delta.
    fn next_instruction(&mut self) -> io::Result<bool> {
        if self.delta.fill_buf()?.is_empty() {
            return Ok(false);
        }
        let op = self.byte()?;
        if op & 0x80 != 0 {
            let (mut offset, mut len) = (0usize, 0usize);
            for bit in 0..4 {
                if op & (1 << bit) != 0 {
                    offset |= usize::from(self.byte()?) << (8 * bit);
                }
            }
            for bit in 0..3 {
                if op & (0x10 << bit) != 0 {
                    len |= usize::from(self.byte()?) << (8 * bit);
                }
            }
            if len == 0 {
                len = 0x10000;
            }
            let end = offset.checked_add(len).filter(|&e| e <= self.base.len());
            let end = end.ok_or_else(|| self.place.damaged("bad delta"))?;
            self.copy = offset..end;
        } else if op != 0 {
            self.insert = usize::from(op);
        } else {
            return Err(self.place.damaged("bad delta"));
        }
        let pending = (self.copy.len() + self.insert) as u64;
        if self.out + pending > self.size {
            return Err(self.place.damaged("bad delta"));
        }
        Ok(true)
    }
}

impl Read for DeltaStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.copy.is_empty() {
                let n = buf.len().min(self.copy.len());
                let from = self.copy.start;
                buf[..n].copy_from_slice(&self.base[from..from + n]);
                self.copy.start += n;
                self.out += n as u64;
                return Ok(n);
            }
            if self.insert > 0 {
                let want = buf.len().min(self.insert);
                let n = self.delta.read(&mut buf[..want])?;
                if n == 0 {
                    return Err(self.place.damaged("bad delta"));
                }
                self.insert -= n;
                self.out += n as u64;
                return Ok(n);
            }
            if !self.next_instruction()? {
                // The delta's stream ended with its checksum right (Inflate checks it).
                if self.out != self.size {
                    return Err(self.place.damaged("bad delta"));
                }
                return Ok(0);
            }
        }
    }
}

/// A loose object (`objects/xx/yyyy…`, a zlib stream of `<kind> <size>\0<content>`), inflated
/// and hashed as it is read: its content must hash to its id.
pub struct Loose {
    z: flate2::read::ZlibDecoder<BufReader<File>>,
    hash: sha1::Sha1,
    id: Oid,
    size: u64,
    out: u64,
    done: bool,
}

impl Loose {
    /// Loose object `id` from the first of `dirs` (object folders) that holds it: its kind,
    /// size, and the stream of its content. `None` when no folder holds it.
    pub fn open(dirs: &[PathBuf], id: Oid) -> io::Result<Option<(ObjectType, Loose)>> {
        let hex = id.to_string();
        for dir in dirs {
            let path = dir.join(&hex[..2]).join(&hex[2..]);
            match File::open(&path) {
                Ok(f) => return Loose::start(f, id, &path).map(Some),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    fn start(file: File, id: Oid, path: &Path) -> io::Result<(ObjectType, Loose)> {
        let bad = || damaged(id, format!("its loose file {} has no valid header", path.display()));
        let mut z = flate2::read::ZlibDecoder::new(BufReader::with_capacity(64 << 10, file));
        let mut header = Vec::with_capacity(32);
        loop {
            let mut b = [0u8];
            if z.read(&mut b).map_err(|_| bad())? == 0 || header.len() > 32 {
                return Err(bad());
            }
            header.push(b[0]);
            if b[0] == 0 {
                break;
            }
        }
        let text = std::str::from_utf8(&header[..header.len() - 1]).map_err(|_| bad())?;
        let (kind, size) = text.split_once(' ').ok_or_else(bad)?;
        let kind = ObjectType::from_str(kind).ok_or_else(bad)?;
        let size: u64 = size.parse().map_err(|_| bad())?;
        let mut hash = sha1::Sha1::new();
        hash.update(&header);
        Ok((kind, Loose { z, hash, id, size, out: 0, done: false }))
    }

    /// The size its header says.
    pub fn size(&self) -> u64 {
        self.size
    }
}

/// Reads loose object `id` whole, if one of `dirs` holds it loose, with [`Loose`]'s checks
/// (zlib stream, header size, content hash): before libgit2 reads it, which inflated a damaged
/// one for ever.
pub fn check_loose(dirs: &[PathBuf], id: Oid) -> io::Result<()> {
    if let Some((_, mut loose)) = Loose::open(dirs, id)? {
        io::copy(&mut loose, &mut io::sink())?;
    }
    Ok(())
}

impl Read for Loose {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let n = self.z.read(buf).map_err(|_| {
            damaged(
                self.id,
                "its loose file's zlib stream is damaged (or its checksum wrong)".into(),
            )
        })?;
        self.hash.update(&buf[..n]);
        self.out += n as u64;
        if self.out > self.size {
            return Err(damaged(self.id, "it is larger than its header says".into()));
        }
        if n == 0 {
            if self.out != self.size {
                return Err(damaged(self.id, "it is smaller than its header says".into()));
            }
            let digest = std::mem::take(&mut self.hash).finalize();
            if digest.as_slice() != self.id.as_bytes() {
                return Err(damaged(self.id, "its content does not hash to its id".into()));
            }
            self.done = true;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::git::pack::{Opened, Reader};
    use crate::source::git::test_git::git;

    fn blobs(dir: &Path) -> Vec<Oid> {
        let list = git(
            dir,
            &["cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectname)"],
        );
        list.lines()
            .filter_map(|l| l.strip_prefix("blob "))
            .map(|id| Oid::from_str(id).unwrap())
            .collect()
    }

    fn read_all(mut r: impl Read) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        // Small reads, so that instructions and zlib blocks are cut everywhere.
        let mut buf = [0u8; 997];
        loop {
            match r.read(&mut buf)? {
                0 => return Ok(out),
                n => out.extend_from_slice(&buf[..n]),
            }
        }
    }

    fn object_error(e: io::Error) -> String {
        let inner = e.into_inner().expect("an error inside");
        let e = inner.downcast::<Error>().expect("the scan's error");
        assert!(matches!(*e, Error::Object(_)), "{e}");
        e.to_string()
    }

    /// A repository with many versions of a large-ish file (long delta chains, copies of
    /// more than 64 KiB) and a binary file.
    fn repo() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        git(d, &["init", "-q"]);
        let mut lines: Vec<String> = (0..6000).map(|i| format!("line {i} of the file\n")).collect();
        for v in 0..12 {
            lines[(v * 97) % 6000] = format!("changed in version {v}\n");
            lines.insert((v * 31) % 6000, format!("inserted in version {v}\n"));
            std::fs::write(d.join("big.txt"), lines.concat()).unwrap();
            std::fs::write(d.join("bin"), [0u8, 1, 2, v as u8, 0, 255].repeat(3000)).unwrap();
            git(d, &["add", "-A"]);
            git(d, &["commit", "-q", "-m", &format!("version {v}")]);
        }
        tmp
    }

    #[test]
    fn streamed_blobs_read_as_libgit2_reads_them() {
        let tmp = repo();
        let d = tmp.path();
        let repo = git2::Repository::open(d).unwrap();
        let odb = repo.odb().unwrap();
        let ids = blobs(d);
        assert!(ids.len() > 20);
        let dirs = vec![d.join(".git/objects")];
        for &id in &ids {
            let (kind, loose) = Loose::open(&dirs, id).unwrap().expect("loose");
            assert_eq!(kind, ObjectType::Blob);
            assert_eq!(read_all(loose).unwrap(), odb.read(id).unwrap().data(), "{id}");
        }
        // Offset deltas, then reference deltas: every blob streamed (no size floor).
        for repack in [
            &["gc", "-q", "--aggressive"][..],
            &["-c", "repack.useDeltaBaseOffset=false", "repack", "-adfq"],
        ] {
            git(d, repack);
            let packs = Arc::new(Packs::open(&d.join(".git/objects")).unwrap());
            let mut reader = Reader::new(packs, 1 << 20);
            for &id in &ids {
                let Opened::Stream(s) = reader.open_stream(id, 0).unwrap() else {
                    panic!("{id} not streamed")
                };
                assert_eq!(read_all(s).unwrap(), odb.read(id).unwrap().data(), "{id}");
            }
            // The pack does hold blobs stored as deltas (`verify-pack` shows their depth).
            let idx = std::fs::read_dir(d.join(".git/objects/pack"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.extension().is_some_and(|e| e == "idx"))
                .unwrap();
            let listing = git(d, &["verify-pack", "-v", idx.to_str().unwrap()]);
            let deltas = listing
                .lines()
                .filter(|l| l.contains(" blob ") && l.split_whitespace().count() >= 7)
                .count();
            assert!(deltas > 10, "{deltas} deltas");
            // A floor above every blob: none streamed.
            assert!(matches!(reader.open_stream(ids[0], u64::MAX).unwrap(), Opened::Whole));
        }
    }

    #[test]
    fn a_damaged_loose_object_fails_its_stream() {
        use std::io::Write;
        let tmp = tempfile::tempdir().unwrap();
        let dirs = vec![tmp.path().to_path_buf()];
        let content = b"hello, world\n".repeat(1000);
        let id = Oid::hash_object(ObjectType::Blob, &content).unwrap();
        let hex = id.to_string();
        let path = tmp.path().join(&hex[..2]).join(&hex[2..]);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let write = |body: &[u8], size: usize| {
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            z.write_all(format!("blob {size}\0").as_bytes()).unwrap();
            z.write_all(body).unwrap();
            std::fs::write(&path, z.finish().unwrap()).unwrap();
        };
        write(&content, content.len());
        let (_, s) = Loose::open(&dirs, id).unwrap().unwrap();
        assert_eq!(read_all(s).unwrap(), content);
        // Another content of the same size: it does not hash to its id.
        let mut other = content.clone();
        other[5] = b'!';
        write(&other, other.len());
        let (_, s) = Loose::open(&dirs, id).unwrap().unwrap();
        assert!(object_error(read_all(s).unwrap_err()).contains("does not hash to its id"));
        // A size that lies, either way.
        for size in [content.len() - 1, content.len() + 1] {
            write(&content, size);
            let (_, s) = Loose::open(&dirs, id).unwrap().unwrap();
            assert!(object_error(read_all(s).unwrap_err()).contains("than its header says"));
        }
        // Cut short, or a flipped bit in the compressed stream.
        write(&content, content.len());
        let good = std::fs::read(&path).unwrap();
        std::fs::write(&path, &good[..good.len() / 2]).unwrap();
        let (_, s) = Loose::open(&dirs, id).unwrap().unwrap();
        assert!(read_all(s).is_err());
        let mut flipped = good.clone();
        let at = flipped.len() - 2;
        flipped[at] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        let (_, s) = Loose::open(&dirs, id).unwrap().unwrap();
        assert!(read_all(s).is_err());
    }

    #[test]
    fn a_damaged_pack_entry_fails_its_stream() {
        let tmp = repo();
        let d = tmp.path();
        git(d, &["gc", "-q"]);
        let ids = blobs(d);
        let pack = std::fs::read_dir(d.join(".git/objects/pack"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "pack"))
            .unwrap();
        let original = std::fs::read(&pack).unwrap();
        // Flip a byte in the middle of each of a few entries' data: every stream over the
        // damage fails (zlib's structure or its checksum), none reads as good content.
        let repo = git2::Repository::open(d).unwrap();
        let odb = repo.odb().unwrap();
        let want: Vec<Vec<u8>> =
            ids.iter().map(|id| odb.read(*id).unwrap().data().to_vec()).collect();
        drop(odb);
        let mut failed = 0;
        for at in (100..original.len() - 40).step_by(original.len() / 7) {
            let mut bytes = original.clone();
            bytes[at] ^= 0x55;
            std::fs::write(&pack, &bytes).unwrap();
            let packs = Arc::new(Packs::open(&d.join(".git/objects")).unwrap());
            let mut reader = Reader::new(packs, 0);
            for (id, want) in ids.iter().zip(&want) {
                match reader.open_stream(*id, 0) {
                    Ok(Opened::Stream(s)) => match read_all(s) {
                        Ok(got) => assert_eq!(&got, want, "damaged content read as good"),
                        Err(e) => {
                            object_error(e);
                            failed += 1;
                        }
                    },
                    Ok(_) => panic!("not streamed"),
                    Err(_) => failed += 1,
                }
            }
        }
        std::fs::write(&pack, &original).unwrap();
        assert!(failed > 0);
    }
}
