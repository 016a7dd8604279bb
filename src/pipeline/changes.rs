//! Changes: the tokens a commit introduced. Each distinct blob is scanned once (a shared cache
//! keeps, per blob id, only the fingerprints of the tokens it holds: nothing for the vast
//! majority of clean blobs); only for a blob that holds tokens are its old versions looked at
//! (see [`CommitUnit::olds`]), and the tokens introduced are those no old version holds. Then
//! the new blob is scanned in full for the positions of those tokens.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::Pipeline;
use crate::finding::Finding;
use crate::unit::{is_binary, CommitUnit, ObjectId, Origin};
use crate::Result;

/// The file name reports show for a commit's message.
pub const COMMIT_MESSAGE: &str = "commit message";

/// Hashes an object id by its first bytes (it is already a cryptographic hash).
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes.iter().take(8) {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
}

type IdMap<V> = HashMap<ObjectId, V, BuildHasherDefault<IdHasher>>;

/// Fingerprints of the tokens a blob holds, sorted; `None` for a clean blob.
type Prints = Option<Arc<[String]>>;

const SHARDS: usize = 16;

/// Per blob id, the fingerprints of the tokens it holds. Never holds content.
pub struct BlobCache {
    shards: Vec<Mutex<IdMap<Prints>>>,
    /// Blobs scanned, and their bytes.
    blobs: AtomicU64,
    bytes: AtomicU64,
}

impl Default for BlobCache {
    fn default() -> Self {
        BlobCache {
            shards: (0..SHARDS).map(|_| Mutex::new(IdMap::default())).collect(),
            blobs: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }
}

impl BlobCache {
    /// How many distinct blobs were scanned, and their bytes.
    pub fn scanned(&self) -> (u64, u64) {
        (self.blobs.load(Ordering::Relaxed), self.bytes.load(Ordering::Relaxed))
    }

    fn shard(&self, id: ObjectId) -> &Mutex<IdMap<Prints>> {
        &self.shards[id.as_bytes()[19] as usize % SHARDS]
    }

    /// The fingerprints of blob `id`, scanning it on first sight.
    fn prints(&self, unit: &dyn CommitUnit, id: ObjectId, pipeline: &Pipeline) -> Result<Prints> {
        if let Some(p) = self.shard(id).lock().expect("cache lock").get(&id) {
            return Ok(p.clone());
        }
        // Two workers may scan the same blob at once; both get the same answer.
        let blob = unit.blob(id)?;
        self.blobs.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(blob.len() as u64, Ordering::Relaxed);
        let mut prints: Vec<String> =
            pipeline.matcher.find(&blob).into_iter().map(|m| m.fingerprint).collect();
        prints.sort();
        prints.dedup();
        let p: Prints = if prints.is_empty() { None } else { Some(prints.into()) };
        self.shard(id).lock().expect("cache lock").insert(id, p.clone());
        Ok(p)
    }
}

impl Pipeline {
    /// The tokens `unit` (a commit) introduced: in its changed files, and in its message.
    /// `cache` is shared by every commit of the scan.
    pub fn scan_commit(
        &self,
        unit: &dyn CommitUnit,
        cache: &BlobCache,
        out: &mut Vec<Finding>,
    ) -> Result<()> {
        for (i, file) in unit.files().iter().enumerate() {
            // An object that cannot be read is named by its path.
            let at = |e: crate::Error| e.at_path(file.path.as_bytes());
            let Some(prints) = cache.prints(unit, file.new, self).map_err(at)? else { continue };
            let mut introduced: Vec<&String> = prints.iter().collect();
            for old in unit.olds(i).map_err(at)? {
                if old == file.new {
                    introduced.clear();
                    break;
                }
                if let Some(held) = cache.prints(unit, old, self).map_err(at)? {
                    introduced.retain(|f| held.binary_search(f).is_err());
                }
            }
            if introduced.is_empty() {
                continue;
            }
            let origin = Origin::new(&file.path).with_commit(unit.info()?);
            let content = unit.blob(file.new).map_err(at)?;
            let mut keep = |f: Finding| {
                if introduced.contains(&&f.fingerprint) {
                    out.push(f);
                }
            };
            if is_binary(&content) {
                self.scan_binary(&content, None, &origin, &mut keep);
            } else {
                self.scan_bytes(&content, &origin, &mut keep);
            }
        }
        let message = unit.message()?;
        if !self.matcher.find(&message).is_empty() {
            let origin = Origin::given(COMMIT_MESSAGE, None).with_commit(unit.info()?);
            self.scan_bytes(&message, &origin, &mut |f| out.push(f));
        }
        Ok(())
    }

    /// Keeps the findings whose token no version in `held` holds (a merge: what a merged
    /// branch already holds is not new).
    pub fn keep_new(&self, findings: &mut Vec<Finding>, held: &[&[u8]]) {
        if held.is_empty() || findings.is_empty() {
            return;
        }
        let prints: Vec<String> =
            held.iter().flat_map(|h| self.matcher.find(h)).map(|m| m.fingerprint).collect();
        findings.retain(|f| !prints.contains(&f.fingerprint));
    }
}
