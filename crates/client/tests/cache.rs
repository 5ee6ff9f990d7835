//! The content cache and its index: least recently used eviction down to the bound, copies edited
//! in place or deleted by hand never returned, older caches adopted, two processes at once.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use wanllmdb_client::{Cache, Shared};
use wanllmdb_domain::types::Sha256;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join("wanllmdb-cache-tests")
        .join(name)
        .join(uuid::Uuid::now_v7().simple().to_string());
    std::fs::create_dir_all(&dir).expect("scratch");
    dir
}

/// Puts `bytes` into `cache` through a verified file in `dir`; returns their digest.
fn put(cache: &Cache, dir: &Path, bytes: &[u8]) -> Sha256 {
    let sha = Sha256::of(bytes);
    let src = dir.join(format!("src-{}", uuid::Uuid::now_v7().simple()));
    std::fs::write(&src, bytes).expect("write source");
    cache.put(&sha, &src).expect("put");
    std::fs::remove_file(src).expect("remove source");
    sha
}

/// Cached copies are read-only; a user editing one by hand makes it writable first.
fn writable(path: &Path) {
    let mut p = std::fs::metadata(path).expect("stat").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    p.set_readonly(false);
    std::fs::set_permissions(path, p).expect("chmod");
}

fn read(cache: &Cache, sha: &Sha256, size: usize) -> Option<Vec<u8>> {
    cache
        .get(sha, size as u64)
        .map(|p| std::fs::read(p).expect("read cached"))
}

/// `len` bytes, distinct for every `tag` (it leads them).
fn bytes(tag: u32, len: usize) -> Vec<u8> {
    let mut out = tag.to_le_bytes().to_vec();
    out.extend((4..len).map(|i| (i as u32).wrapping_mul(tag | 1) as u8));
    out.truncate(len);
    out
}

#[test]
fn least_recently_used_entries_go_first_and_totals_are_kept() {
    let dir = scratch("lru");
    let cache = Cache::new(dir.join("cache"), 3000);
    let (a, b, c) = (bytes(1, 1000), bytes(2, 1000), bytes(3, 1000));
    let sa = put(&cache, &dir, &a);
    std::thread::sleep(Duration::from_millis(2));
    let sb = put(&cache, &dir, &b);
    std::thread::sleep(Duration::from_millis(2));
    let sc = put(&cache, &dir, &c);
    std::thread::sleep(Duration::from_millis(2));
    assert_eq!(read(&cache, &sa, 1000), Some(a.clone()), "a is used again");
    std::thread::sleep(Duration::from_millis(2));
    let d = bytes(4, 1000);
    let sd = put(&cache, &dir, &d);
    assert_eq!(
        read(&cache, &sb, 1000),
        None,
        "b was the least recently used"
    );
    assert_eq!(read(&cache, &sa, 1000), Some(a));
    assert_eq!(read(&cache, &sc, 1000), Some(c));
    assert_eq!(read(&cache, &sd, 1000), Some(d));
    let info = cache.info();
    assert_eq!((info.files, info.bytes, info.max_bytes), (3, 3000, 3000));
    assert_eq!(
        read(&cache, &sa, 999),
        None,
        "a size that does not match is not these bytes"
    );
    assert_eq!(cache.info().files, 2, "and the entry is dropped");
    let cleaned = cache.clean().expect("clean");
    assert_eq!(cleaned.files, 2);
    assert_eq!(cache.info().files, 0);
    assert_eq!(read(&cache, &sc, 1000), None);
}

#[test]
fn copies_edited_truncated_or_deleted_by_hand_are_never_returned() {
    let dir = scratch("edits");
    let cache = Cache::new(dir.join("cache"), 1 << 20);
    let (a, b, c) = (bytes(1, 500), bytes(2, 500), bytes(3, 500));
    let (sa, sb, sc) = (
        put(&cache, &dir, &a),
        put(&cache, &dir, &b),
        put(&cache, &dir, &c),
    );
    let path_a = cache.get(&sa, 500).expect("cached");
    writable(&path_a);
    // Same size, new bytes, a later modification time: an edit in place.
    std::fs::write(&path_a, bytes(9, 500)).expect("edit");
    let f = std::fs::File::options()
        .write(true)
        .open(&path_a)
        .expect("open");
    f.set_modified(SystemTime::now() + Duration::from_secs(5))
        .expect("touch");
    drop(f);
    assert!(!cache.has(&sa, 500));
    assert_eq!(
        read(&cache, &sa, 500),
        None,
        "an edited copy is not returned"
    );
    assert!(!path_a.exists(), "and is removed");
    let path_b = cache.get(&sb, 500).expect("cached");
    writable(&path_b);
    std::fs::File::options()
        .write(true)
        .open(&path_b)
        .and_then(|f| f.set_len(100))
        .expect("truncate");
    assert_eq!(
        read(&cache, &sb, 500),
        None,
        "a truncated copy is not returned"
    );
    let path_c = cache.get(&sc, 500).expect("cached");
    std::fs::remove_file(path_c).expect("delete by hand");
    assert_eq!(read(&cache, &sc, 500), None);
    let info = cache.info();
    assert_eq!(
        (info.files, info.bytes),
        (0, 0),
        "the index forgot all three"
    );
}

#[test]
fn twenty_thousand_entries_stay_within_the_bound() {
    let dir = scratch("many");
    let cache = Cache::new(dir.join("cache"), 15_000 * 64);
    let started = std::time::Instant::now();
    let mut last = None;
    for i in 0..20_000u32 {
        last = Some((put(&cache, &dir, &bytes(i, 64)), i));
    }
    let (sha, i) = last.expect("put");
    let info = cache.info();
    assert_eq!(info.bytes, 15_000 * 64, "evicted down to the bound");
    assert_eq!(info.files, 15_000);
    assert_eq!(read(&cache, &sha, 64), Some(bytes(i, 64)));
    assert_eq!(
        read(&cache, &Sha256::of(&bytes(0, 64)), 64),
        None,
        "the first entries went"
    );
    let on_disk = std::fs::read_dir(dir.join("cache/sha256"))
        .expect("shards")
        .flatten()
        .map(|shard| std::fs::read_dir(shard.path()).expect("shard").count())
        .sum::<usize>();
    assert_eq!(on_disk, 15_000, "the files match the index");
    eprintln!("20,000 puts into a bounded cache: {:?}", started.elapsed());
}

#[test]
fn a_cache_from_before_the_index_is_adopted() {
    let dir = scratch("adopt");
    let root = dir.join("cache");
    let old: Vec<Vec<u8>> = (0..5).map(|i| bytes(i, 300)).collect();
    for b in &old {
        let sha = Sha256::of(b);
        let shard = root.join("sha256").join(&sha.as_str()[..2]);
        std::fs::create_dir_all(&shard).expect("shard");
        std::fs::write(shard.join(sha.as_str()), b).expect("old entry");
    }
    let cache = Cache::new(root, 1 << 20);
    let info = cache.info();
    assert_eq!((info.files, info.bytes), (5, 1500));
    for b in &old {
        assert_eq!(read(&cache, &Sha256::of(b), 300), Some(b.clone()));
    }
}

#[test]
fn two_processes_share_one_cache() {
    let dir = scratch("shared");
    let shared: Vec<Vec<u8>> = (0..100).map(|i| bytes(1_000_000 + i, 200)).collect();
    let workers: Vec<_> = (0..2u32)
        .map(|w| {
            let (dir, shared) = (dir.clone(), shared.clone());
            std::thread::spawn(move || {
                // Its own index connection, as another process has.
                let cache = Cache::new(dir.join("cache"), 1 << 30);
                for i in 0..400u32 {
                    put(&cache, &dir, &bytes(w * 10_000 + i, 200));
                    if i % 4 == 0 {
                        put(&cache, &dir, &shared[(i / 4) as usize]);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    let cache = Cache::new(dir.join("cache"), 1 << 30);
    let info = cache.info();
    assert_eq!(info.files, 900, "800 own entries and 100 shared ones");
    assert_eq!(info.bytes, 900 * 200);
    for b in &shared {
        assert_eq!(read(&cache, &Sha256::of(b), 200), Some(b.clone()));
    }
    for w in 0..2u32 {
        let b = bytes(w * 10_000 + 399, 200);
        assert_eq!(read(&cache, &Sha256::of(&b), 200), Some(b));
    }
}

#[cfg(unix)]
#[test]
fn a_cached_copy_shares_its_bytes_with_the_download_where_it_can() {
    use std::os::unix::fs::MetadataExt;
    let dir = scratch("share");
    let cache = Cache::new(dir.join("cache"), 1 << 20);
    let bytes = bytes(7, 4000);
    let sha = Sha256::of(&bytes);
    let verified = dir.join("downloaded");
    std::fs::write(&verified, &bytes).expect("write");
    let how = cache.put(&sha, &verified).expect("put");
    let entry = cache.get(&sha, 4000).expect("cached");
    let (a, b) = (
        std::fs::metadata(&verified).expect("stat"),
        std::fs::metadata(&entry).expect("stat"),
    );
    match how {
        // ext4, tmpfs: one file under two names, read-only so neither edits the other.
        Shared::Linked => {
            assert_eq!(a.ino(), b.ino());
            assert!(a.permissions().readonly());
        }
        // btrfs, XFS: two files sharing blocks; the cache's is read-only.
        Shared::Reflinked => assert!(b.permissions().readonly()),
        other => panic!("one filesystem, yet the bytes were not shared: {other:?}"),
    }
    let placed = dir.join("again");
    assert!(cache.place(&entry, &placed).is_some());
    assert_eq!(std::fs::read(&placed).expect("read"), bytes);
}

/// Another filesystem than the targets' (tmpfs under /dev/shm): nothing can be linked, so
/// copies are made up to the copy limit and larger files are not cached at all.
#[cfg(target_os = "linux")]
#[test]
fn above_the_copy_limit_a_file_that_cannot_be_linked_is_not_cached() {
    use std::os::unix::fs::MetadataExt;
    let dir = scratch("limit");
    let shm = PathBuf::from("/dev/shm")
        .join("wanllmdb-cache-tests")
        .join(uuid::Uuid::now_v7().simple().to_string());
    std::fs::create_dir_all(&shm).expect("/dev/shm is needed for a cache on another filesystem");
    assert_ne!(
        std::fs::metadata(&shm).expect("stat").dev(),
        std::fs::metadata(&dir).expect("stat").dev(),
        "this test needs /dev/shm and {} on different filesystems",
        dir.display()
    );
    let cache = Cache::new(shm.clone(), 1 << 20).with_copy_limit(1000);
    let (small, large) = (bytes(1, 1000), bytes(2, 1001));
    for (data, expected) in [(&small, Shared::Copied), (&large, Shared::Skipped)] {
        let src = dir.join(format!("f{}", data.len()));
        std::fs::write(&src, data).expect("write");
        assert_eq!(cache.put(&Sha256::of(data), &src).expect("put"), expected);
        assert!(
            !std::fs::metadata(&src)
                .expect("stat")
                .permissions()
                .readonly(),
            "a file that was not linked stays the user's to edit"
        );
    }
    assert_eq!(read(&cache, &Sha256::of(&small), 1000), Some(small));
    assert_eq!(read(&cache, &Sha256::of(&large), 1001), None);
    assert_eq!(cache.info().bytes, 1000);
    let _ = std::fs::remove_dir_all(&shm);
}
