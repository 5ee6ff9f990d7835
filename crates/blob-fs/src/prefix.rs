//! Hashing a multipart upload while it arrives. Completing an upload checks the whole object's
//! SHA-256 and MD5; read back only then, a 512 MiB object costs an extra MD5 pass (0.8 s here)
//! after the last byte came in. So as parts become durable, a background task hashes the
//! longest run of full parts from the start that is stored, and completing hashes only the rest.
//!
//! The state lives in this process's memory: an upload whose parts went to another instance, or
//! that outlived a restart, is read back whole as before. A part written again after it was
//! hashed spoils the state (the bytes hashed may not be the bytes stored), and so does any
//! doubt: completing then reads the object back whole. The result is never trusted more than a
//! read-back would be.

use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use wanllmdb_domain::ports::{CompletedPart, ContentHasher};

/// Uploads tracked at once; beyond that new ones are read back whole (abandoned uploads must
/// not grow the map without bound).
const MAX_TRACKED: usize = 1024;

/// What is known of one upload's parts.
#[derive(Default)]
struct Claims {
    /// Parts being written now.
    incoming: BTreeSet<u32>,
    /// Parts 1 to `claimed` are hashed or being hashed.
    claimed: u32,
    /// A claimed part was written again: the digests may not be the stored bytes'.
    spoiled: bool,
    /// Completing took the digests: hash no more.
    closed: bool,
}

/// The digests of parts 1 to n, with the marker token each part had when it was read.
#[derive(Default)]
struct Hashed {
    digests: ContentHasher,
    tokens: Vec<String>,
}

struct Upload {
    dir: PathBuf,
    part_size: u64,
    /// Taken briefly by writers and the hasher alike.
    claims: Mutex<Claims>,
    /// Held while hashing (long).
    hashed: Mutex<Hashed>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The uploads of one store being hashed as they arrive.
#[derive(Default)]
pub(crate) struct PrefixHashes {
    uploads: Mutex<HashMap<String, Arc<Upload>>>,
}

impl std::fmt::Debug for PrefixHashes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrefixHashes")
            .field("uploads", &lock(&self.uploads).len())
            .finish()
    }
}

/// A part being written; dropping it says the write is over (stored or not).
pub(crate) struct Incoming {
    upload: Option<Arc<Upload>>,
    part: u32,
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if let Some(u) = &self.upload {
            lock(&u.claims).incoming.remove(&self.part);
        }
    }
}

impl PrefixHashes {
    /// Starts tracking a new upload (in `dir`, parts of `part_size` bytes).
    pub(crate) fn created(&self, upload_id: &str, dir: PathBuf, part_size: u64) {
        let mut uploads = lock(&self.uploads);
        if uploads.len() < MAX_TRACKED {
            uploads.insert(
                upload_id.to_owned(),
                Arc::new(Upload {
                    dir,
                    part_size,
                    claims: Mutex::default(),
                    hashed: Mutex::default(),
                }),
            );
        }
    }

    /// Before the first byte of part `part` is written: a part already hashed spoils the
    /// digests, and the hasher leaves a part alone while it is being written.
    pub(crate) fn incoming(&self, upload_id: &str, part: u32) -> Incoming {
        let upload = lock(&self.uploads).get(upload_id).cloned();
        if let Some(u) = &upload {
            let mut claims = lock(&u.claims);
            if part <= claims.claimed {
                claims.spoiled = true;
            }
            claims.incoming.insert(part);
        }
        Incoming { upload, part }
    }

    /// After a part became durable (its marker written): hashes, in the background, the full
    /// parts that now follow the hashed ones.
    pub(crate) fn stored(&self, upload_id: &str) {
        let Some(upload) = lock(&self.uploads).get(upload_id).cloned() else {
            return;
        };
        tokio::task::spawn_blocking(move || hash_stored(&upload));
    }

    #[cfg(test)]
    fn hash_now(&self, upload_id: &str) {
        let upload = lock(&self.uploads).get(upload_id).cloned();
        hash_stored(&upload.expect("a tracked upload"));
    }

    /// Forgets an upload (completed or aborted).
    pub(crate) fn forget(&self, upload_id: &str) {
        lock(&self.uploads).remove(upload_id);
    }

    /// For completing: the digests of the object's first bytes, when they can stand for a
    /// read-back, that is: nothing spoiled them and the parts hashed are parts 1 to n of
    /// `parts` with the same ETags. Waits for a hashing in progress. Forgets the upload.
    pub(crate) fn take(&self, upload_id: &str, parts: &[CompletedPart]) -> Option<ContentHasher> {
        let upload = lock(&self.uploads).remove(upload_id)?;
        lock(&upload.claims).closed = true;
        let hashed = std::mem::take(&mut *lock(&upload.hashed));
        // Read after the hashing in progress ended: a write of the part it hashed counts.
        if lock(&upload.claims).spoiled || hashed.tokens.len() > parts.len() {
            return None;
        }
        let same = hashed
            .tokens
            .iter()
            .zip(parts)
            .enumerate()
            .all(|(i, (token, p))| {
                p.part_number as usize == i + 1 && p.etag.trim_matches('"') == token
            });
        same.then_some(hashed.digests)
    }
}

fn hash_stored(upload: &Upload) {
    let mut hashed = lock(&upload.hashed);
    // An error (the upload completed or aborted meanwhile) just ends the hashing.
    let _ = advance(upload, &mut hashed);
}

/// Hashes full parts in order from the first not yet hashed, while they are stored and not
/// being written.
fn advance(upload: &Upload, hashed: &mut Hashed) -> std::io::Result<()> {
    loop {
        let next = hashed.tokens.len() as u32 + 1;
        let Some(token) = stored_full_part(&upload.dir, next, upload.part_size) else {
            return Ok(());
        };
        {
            let mut claims = lock(&upload.claims);
            if claims.spoiled || claims.closed || claims.incoming.contains(&next) {
                return Ok(());
            }
            claims.claimed = next;
        }
        // The marker was written after the part's bytes were synced, and no write of the part
        // has begun since the claim (a later one spoils the state), so these are its bytes.
        if stored_full_part(&upload.dir, next, upload.part_size).as_deref() != Some(&token) {
            lock(&upload.claims).spoiled = true;
            return Ok(());
        }
        let mut data = std::fs::File::open(upload.dir.join(crate::DATA_FILE))?;
        data.seek(SeekFrom::Start(u64::from(next - 1) * upload.part_size))?;
        let before = hashed.digests.size();
        hashed
            .digests
            .read_from(data.take(upload.part_size), upload.part_size)?;
        if hashed.digests.size() - before != upload.part_size {
            lock(&upload.claims).spoiled = true;
            return Ok(());
        }
        hashed.tokens.push(token);
    }
}

/// The token of part `n`'s marker, when the part is stored and full.
fn stored_full_part(dir: &Path, n: u32, part_size: u64) -> Option<String> {
    let marker = std::fs::read_to_string(dir.join(format!("{}{n:05}", crate::PART_PREFIX))).ok()?;
    let (token, size) = marker.split_once(' ')?;
    (size.trim().parse::<u64>().ok()? == part_size).then(|| token.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wanllmdb_domain::ports::hash_reader;

    const PART: u64 = 1 << 20;

    /// An upload folder as the store lays it out, with parts `stored` written and marked.
    fn upload(stored: &[(u32, u8)]) -> (PathBuf, Vec<u8>) {
        let dir = std::env::temp_dir()
            .join("wanllmdb-blob-fs-prefix")
            .join(uuid::Uuid::now_v7().simple().to_string());
        std::fs::create_dir_all(&dir).expect("dir");
        let mut data = vec![0u8; 3 * PART as usize];
        for &(n, fill) in stored {
            write_part(&dir, &mut data, n, fill);
        }
        (dir, data)
    }

    fn write_part(dir: &Path, data: &mut [u8], n: u32, fill: u8) -> String {
        let at = (n as usize - 1) * PART as usize;
        data[at..at + PART as usize].fill(fill);
        std::fs::write(dir.join(crate::DATA_FILE), &*data).expect("data");
        let token = format!("t{n}x{fill}");
        std::fs::write(
            dir.join(format!("{}{n:05}", crate::PART_PREFIX)),
            format!("{token} {PART}"),
        )
        .expect("marker");
        token
    }

    fn completed(tokens: &[&str]) -> Vec<CompletedPart> {
        tokens
            .iter()
            .enumerate()
            .map(|(i, t)| CompletedPart {
                part_number: i as u32 + 1,
                etag: format!("\"{t}\""),
            })
            .collect()
    }

    #[test]
    fn parts_in_order_are_hashed_up_to_the_first_missing_one() {
        let (dir, data) = upload(&[(1, 1), (3, 3)]);
        let hashes = PrefixHashes::default();
        hashes.created("u", dir, PART);
        hashes.hash_now("u");
        let digests = hashes
            .take("u", &completed(&["t1x1", "t2x2", "t3x3"]))
            .expect("part 1 hashed, and usable");
        assert_eq!(digests.size(), PART, "part 2 is missing: part 3 waits");
        let expected = hash_reader(&data[..PART as usize], PART).expect("hash");
        assert_eq!(digests.finish(), expected);
    }

    #[test]
    fn a_part_written_again_after_hashing_spoils_the_digests() {
        let (dir, mut data) = upload(&[(1, 1), (2, 2)]);
        let hashes = PrefixHashes::default();
        hashes.created("u", dir.clone(), PART);
        hashes.hash_now("u");
        let incoming = hashes.incoming("u", 1);
        let token = write_part(&dir, &mut data, 1, 9);
        drop(incoming);
        hashes.hash_now("u");
        assert!(hashes.take("u", &completed(&[&token, "t2x2"])).is_none());
    }

    #[test]
    fn a_part_being_written_is_not_hashed() {
        let (dir, _) = upload(&[(1, 1), (2, 2)]);
        let hashes = PrefixHashes::default();
        hashes.created("u", dir, PART);
        let incoming = hashes.incoming("u", 2);
        hashes.hash_now("u");
        drop(incoming);
        let digests = hashes
            .take("u", &completed(&["t1x1", "t2x2"]))
            .expect("usable");
        assert_eq!(
            digests.size(),
            PART,
            "part 2 was being written: left to completing"
        );
    }

    #[test]
    fn other_etags_or_order_make_the_digests_unusable() {
        let (dir, _) = upload(&[(1, 1), (2, 2)]);
        for parts in [completed(&["t1x1", "other"]), completed(&["t1x1"])] {
            let hashes = PrefixHashes::default();
            hashes.created("u", dir.clone(), PART);
            hashes.hash_now("u");
            assert!(hashes.take("u", &parts).is_none(), "{parts:?}");
        }
        let hashes = PrefixHashes::default();
        assert!(hashes.take("unknown", &completed(&["t1x1"])).is_none());
    }
}
