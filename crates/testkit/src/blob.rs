//! The blob contract: every check the blob port docs promise, for any object store.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use wanllmdb_domain::ids::ProjectId;
use wanllmdb_domain::keys::ObjectKey;
use wanllmdb_domain::ports::*;
use wanllmdb_domain::types::{Md5, Sha256};

use crate::fixtures::unique;
use crate::PresignedClient;

type Store = Arc<dyn BlobStore>;
type Client = Arc<dyn PresignedClient>;

const HOUR: Duration = Duration::from_secs(3600);
/// S3's smallest part (all but the last).
const MIN_PART: usize = 5 * 1024 * 1024;

fn key(name: &str) -> ObjectKey {
    ObjectKey::parse(format!("contract/{}/{name}", unique())).expect("key")
}

/// Deterministic pseudo-random bytes.
pub fn bytes_of(len: usize, seed: u64) -> Bytes {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

fn expect_all(b: &[u8]) -> ExpectedContent {
    ExpectedContent {
        sha256: Some(Sha256::of(b)),
        md5: Some(Md5::of(b)),
        size: Some(b.len() as u64),
    }
}

async fn read(store: &Store, k: &ObjectKey, range: Option<ByteRange>) -> Bytes {
    let got = store.get(k, range).await.expect("get");
    collect_stream(got.body).await.expect("read body")
}

/// Compares bytes by length and digest, so a failure does not print megabytes.
#[track_caller]
fn assert_same_bytes(got: &[u8], want: &[u8]) {
    assert_eq!(
        (got.len(), Sha256::of(got)),
        (want.len(), Sha256::of(want)),
        "the bytes read differ from the bytes written (length, SHA-256)"
    );
}

#[track_caller]
fn assert_blob_err<T: std::fmt::Debug>(r: Result<T, BlobError>, want: &str) {
    let ok = matches!(
        (&r, want),
        (Err(BlobError::NotFound(_)), "not_found")
            | (Err(BlobError::InvalidDigest(_)), "digest")
            | (Err(BlobError::PreconditionFailed(_)), "precondition")
            | (Err(BlobError::RangeNotSatisfiable(_)), "range")
    );
    assert!(ok, "expected {want}, got {r:?}");
}

pub async fn put_get_head_delete(store: Store, _c: Client) {
    let k = key("obj");
    let data = bytes_of(10_000, 1);
    let meta = store
        .put(&k, stream_from_bytes(data.clone()), &expect_all(&data))
        .await
        .expect("put");
    assert_eq!((meta.key.clone(), meta.size), (k.clone(), 10_000));
    let head = store.head(&k).await.expect("head");
    assert_eq!(head.size, 10_000);
    assert_same_bytes(&read(&store, &k, None).await, &data);
    let empty = key("empty");
    store
        .put(
            &empty,
            stream_from_bytes(Bytes::new()),
            &ExpectedContent::default(),
        )
        .await
        .expect("empty put");
    assert_eq!(store.head(&empty).await.expect("head").size, 0);
    // Overwrite replaces.
    let data2 = bytes_of(77, 2);
    store
        .put(
            &k,
            stream_from_bytes(data2.clone()),
            &ExpectedContent::default(),
        )
        .await
        .expect("overwrite");
    assert_eq!(read(&store, &k, None).await, data2);
    store.delete(&k).await.expect("delete");
    assert_blob_err(store.head(&k).await, "not_found");
    assert_blob_err(store.get(&k, None).await, "not_found");
    store
        .delete(&k)
        .await
        .expect("deleting a missing key is fine");
}

pub async fn put_verifies_digests(store: Store, _c: Client) {
    let data = bytes_of(4096, 3);
    let wrong_sha = ExpectedContent {
        sha256: Some(Sha256::of(b"other")),
        ..expect_all(&data)
    };
    let wrong_md5 = ExpectedContent {
        md5: Some(Md5::of(b"other")),
        ..expect_all(&data)
    };
    let wrong_size = ExpectedContent {
        size: Some(4095),
        ..expect_all(&data)
    };
    for (name, expected) in [("sha", wrong_sha), ("md5", wrong_md5), ("size", wrong_size)] {
        let k = key(name);
        assert_blob_err(
            store
                .put(&k, stream_from_bytes(data.clone()), &expected)
                .await,
            "digest",
        );
        assert_blob_err(store.head(&k).await, "not_found");
    }
    // A failed overwrite leaves the old bytes in place.
    let k = key("keep");
    let old = bytes_of(100, 4);
    store
        .put(&k, stream_from_bytes(old.clone()), &expect_all(&old))
        .await
        .expect("put");
    let bad = ExpectedContent {
        sha256: Some(Sha256::of(b"nope")),
        ..Default::default()
    };
    assert_blob_err(
        store.put(&k, stream_from_bytes(data.clone()), &bad).await,
        "digest",
    );
    assert_eq!(read(&store, &k, None).await, old);
}

pub async fn put_streams_many_chunks(store: Store, _c: Client) {
    // Larger than a few parts of any store, in chunks that never line up with a part boundary.
    let data = bytes_of(19 * 1024 * 1024 + 17, 5);
    let chunks: Vec<Result<Bytes, std::io::Error>> = data
        .chunks(64 * 1024 + 3)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let k = key("chunked");
    let meta = store
        .put(
            &k,
            Box::pin(futures::stream::iter(chunks)),
            &expect_all(&data),
        )
        .await
        .expect("put");
    assert_eq!(meta.size, data.len() as u64);
    assert_same_bytes(&read(&store, &k, None).await, &data);
    // A stream that fails midway stores nothing.
    let failing: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(data.slice(0..1000)),
        Err(std::io::Error::other("client went away")),
    ];
    let k2 = key("broken");
    assert!(store
        .put(
            &k2,
            Box::pin(futures::stream::iter(failing)),
            &ExpectedContent::default()
        )
        .await
        .is_err());
    assert_blob_err(store.head(&k2).await, "not_found");
}

pub async fn ranged_get(store: Store, _c: Client) {
    let k = key("ranged");
    let data = bytes_of(1000, 6);
    store
        .put(
            &k,
            stream_from_bytes(data.clone()),
            &ExpectedContent::default(),
        )
        .await
        .expect("put");
    let r = |start, end| Some(ByteRange::From { start, end });
    assert_eq!(read(&store, &k, r(0, Some(9))).await, data.slice(0..10));
    assert_eq!(read(&store, &k, r(990, None)).await, data.slice(990..));
    assert_eq!(
        read(&store, &k, r(500, Some(5000))).await,
        data.slice(500..),
        "end past the size is clamped"
    );
    assert_eq!(
        read(&store, &k, Some(ByteRange::Suffix(10))).await,
        data.slice(990..)
    );
    let got = store.get(&k, r(100, Some(199))).await.expect("get");
    assert_eq!((got.range, got.meta.size), ((100, 200), 1000));
    assert_blob_err(store.get(&k, r(1000, None)).await, "range");
    assert_blob_err(store.get(&k, r(5000, Some(6000))).await, "range");
}

pub async fn list_paginates_1500_keys(store: Store, _c: Client) {
    let prefix = format!("contract/{}/list/", unique());
    let mut keys: Vec<ObjectKey> = (0..1500)
        .map(|i| ObjectKey::parse(format!("{prefix}{i:05}")).expect("k"))
        .collect();
    let tasks: Vec<_> = keys
        .chunks(100)
        .map(|chunk| {
            let (s, chunk) = (store.clone(), chunk.to_vec());
            tokio::spawn(async move {
                for k in chunk {
                    s.put(
                        &k,
                        stream_from_bytes(Bytes::from_static(b"x")),
                        &ExpectedContent::default(),
                    )
                    .await
                    .expect("put");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("join");
    }
    // A neighbour that shares the prefix string but not the folder must not show up.
    let outside = ObjectKey::parse(format!("{}x", prefix.trim_end_matches('/'))).expect("k");
    store
        .put(
            &outside,
            stream_from_bytes(Bytes::from_static(b"y")),
            &ExpectedContent::default(),
        )
        .await
        .expect("put");

    let first = store.list(&prefix, None, 1000).await.expect("page 1");
    assert_eq!(first.objects.len(), 1000);
    let next = first.next_after.clone().expect("more follow");
    let second = store
        .list(&prefix, Some(&next), 1000)
        .await
        .expect("page 2");
    assert_eq!(second.objects.len(), 500);
    assert!(second.next_after.is_none(), "the listing is complete");
    let listed: Vec<ObjectKey> = first
        .objects
        .iter()
        .chain(&second.objects)
        .map(|o| o.key.clone())
        .collect();
    keys.sort();
    assert_eq!(listed, keys, "every key once, in ascending order");
    assert!(first.objects.iter().all(|o| o.size == 1));
    let exact = store
        .list(&prefix, Some(&keys[999]), 500)
        .await
        .expect("exact");
    assert_eq!(exact.objects.len(), 500);
    assert!(exact.next_after.is_none(), "a full last page has no cursor");
    assert_eq!(store.delete_many(&keys).await.expect("cleanup"), 1500);
    assert!(store
        .list(&prefix, None, 10)
        .await
        .expect("empty")
        .objects
        .is_empty());
}

pub async fn delete_many_counts(store: Store, _c: Client) {
    let ks: Vec<ObjectKey> = (0..5).map(|i| key(&format!("d{i}"))).collect();
    for k in &ks[..3] {
        store
            .put(
                k,
                stream_from_bytes(Bytes::from_static(b"z")),
                &ExpectedContent::default(),
            )
            .await
            .expect("put");
    }
    assert_eq!(
        store.delete_many(&ks).await.expect("delete many"),
        3,
        "only existing keys count"
    );
    for k in &ks {
        assert_blob_err(store.head(k).await, "not_found");
    }
    assert_eq!(store.delete_many(&[]).await.expect("nothing"), 0);
}

pub async fn presigned_put_and_get(store: Store, client: Client) {
    let data = bytes_of(2048, 7);
    let sha = Sha256::of(&data);
    let k = ObjectKey::blob(ProjectId::new(), &sha);
    let put = store
        .presign_put(&k, &sha, &Md5::of(&data), data.len() as u64, HOUR)
        .await
        .expect("presign put");
    assert_eq!(put.method, "PUT");
    assert!(put.expires_at > chrono::Utc::now() + chrono::Duration::minutes(50));
    assert_eq!(
        put.headers.get("x-amz-checksum-sha256"),
        Some(&sha.to_base64()),
        "bound to the SHA-256"
    );
    assert_eq!(
        put.headers.get("content-md5"),
        Some(&Md5::of(&data).to_base64()),
        "bound to the MD5"
    );
    let resp = client.send(&put, data.clone()).await.expect("send");
    assert!(resp.is_success(), "upload refused: {resp:?}");
    assert_eq!(store.head(&k).await.expect("head").size, 2048);
    let get = store
        .presign_get(&k, Some("weights.bin"), HOUR)
        .await
        .expect("presign get");
    assert_eq!(get.method, "GET");
    let resp = client.send(&get, Bytes::new()).await.expect("send");
    assert!(resp.is_success());
    assert_eq!(resp.body, data);
}

pub async fn presigned_put_rejects_wrong_sha256(store: Store, client: Client) {
    let data = bytes_of(1500, 8);
    let claimed = Sha256::of(b"what the client claimed");
    let k = ObjectKey::blob(ProjectId::new(), &claimed);
    let put = store
        .presign_put(&k, &claimed, &Md5::of(&data), data.len() as u64, HOUR)
        .await
        .expect("presign");
    let resp = client.send(&put, data).await.expect("send");
    assert!(
        !resp.is_success(),
        "bytes that miss the signed SHA-256 must be refused: {resp:?}"
    );
    assert_blob_err(store.head(&k).await, "not_found");
}

pub async fn presigned_put_rejects_wrong_md5(store: Store, client: Client) {
    let data = bytes_of(1500, 9);
    let sha = Sha256::of(&data);
    let k = ObjectKey::blob(ProjectId::new(), &sha);
    let put = store
        .presign_put(
            &k,
            &sha,
            &Md5::of(b"not these bytes"),
            data.len() as u64,
            HOUR,
        )
        .await
        .expect("presign");
    let resp = client.send(&put, data).await.expect("send");
    assert!(
        !resp.is_success(),
        "bytes that miss the signed Content-MD5 must be refused: {resp:?}"
    );
    assert_blob_err(store.head(&k).await, "not_found");
}

async fn upload_part(
    store: &Store,
    client: &Client,
    k: &ObjectKey,
    id: &str,
    n: u32,
    data: Bytes,
) -> CompletedPart {
    let req = store
        .presign_part(k, id, n, HOUR)
        .await
        .expect("presign part");
    let resp = client.send(&req, data).await.expect("send part");
    assert!(resp.is_success(), "part {n} refused: {resp:?}");
    CompletedPart {
        part_number: n,
        etag: resp.etag.expect("a part ETag"),
    }
}

pub async fn multipart_resume_after_listing_parts(store: Store, client: Client) {
    let k = key("multi");
    let p1 = bytes_of(MIN_PART, 10);
    let p2 = bytes_of(1234, 11);
    let id = store
        .create_multipart(&k, MIN_PART as u64)
        .await
        .expect("create");
    let first = upload_part(&store, &client, &k, &id, 1, p1.clone()).await;
    // The client stops here; later it asks what is done and sends only the rest.
    let done = store.list_parts(&k, &id).await.expect("list parts");
    assert_eq!(done.len(), 1);
    assert_eq!((done[0].part_number, done[0].size), (1, MIN_PART as u64));
    assert_eq!(done[0].etag.trim_matches('"'), first.etag.trim_matches('"'));
    let second = upload_part(&store, &client, &k, &id, 2, p2.clone()).await;
    assert_eq!(store.list_parts(&k, &id).await.expect("list").len(), 2);
    let mut whole = p1.to_vec();
    whole.extend_from_slice(&p2);
    let meta = store
        .complete_multipart(
            &k,
            &id,
            &[first, second],
            &ExpectedContent {
                sha256: Some(Sha256::of(&whole)),
                md5: None,
                size: Some(whole.len() as u64),
            },
        )
        .await
        .expect("complete");
    assert_eq!(meta.size, whole.len() as u64);
    assert_eq!(read(&store, &k, None).await, Bytes::from(whole));
    assert_blob_err(store.list_parts(&k, &id).await, "precondition");
}

pub async fn multipart_abort_leaves_nothing(store: Store, client: Client) {
    let k = key("aborted");
    let id = store
        .create_multipart(&k, MIN_PART as u64)
        .await
        .expect("create");
    upload_part(&store, &client, &k, &id, 1, bytes_of(1000, 12)).await;
    store.abort_multipart(&k, &id).await.expect("abort");
    assert_blob_err(store.list_parts(&k, &id).await, "precondition");
    assert_blob_err(store.head(&k).await, "not_found");
    store
        .abort_multipart(&k, &id)
        .await
        .expect("abort is idempotent");
    assert_blob_err(
        store.presign_part(&k, "no-such-upload", 1, HOUR).await,
        "precondition",
    );
}

pub async fn multipart_wrong_digest_leaves_nothing(store: Store, client: Client) {
    let k = key("bad-multi");
    let id = store
        .create_multipart(&k, MIN_PART as u64)
        .await
        .expect("create");
    let part = upload_part(&store, &client, &k, &id, 1, bytes_of(1000, 13)).await;
    let wrong = ExpectedContent {
        sha256: Some(Sha256::of(b"something else")),
        md5: None,
        size: None,
    };
    assert_blob_err(
        store.complete_multipart(&k, &id, &[part], &wrong).await,
        "digest",
    );
    assert_blob_err(store.head(&k).await, "not_found");
}

/// A part sent again (a client's retry, or other bytes) replaces the first upload of it: the
/// object is made of each part's last bytes, and completing checks those, not earlier ones.
/// (The filesystem store hashes parts as they arrive; this is what must not fool it.)
pub async fn multipart_part_sent_again_counts_its_last_bytes(store: Store, client: Client) {
    let k = key("again");
    let (p1, p2, p3) = (
        bytes_of(MIN_PART, 17),
        bytes_of(MIN_PART, 18),
        bytes_of(999, 19),
    );
    let mut other = p1.to_vec();
    other[0] ^= 0xff;
    let other = Bytes::from(other);
    // Parts 1 and 2, a pause, part 1 again with `other` bytes, part 3.
    let send = || async {
        let id = store
            .create_multipart(&k, MIN_PART as u64)
            .await
            .expect("create");
        upload_part(&store, &client, &k, &id, 1, p1.clone()).await;
        let second = upload_part(&store, &client, &k, &id, 2, p2.clone()).await;
        // Long enough for a store hashing in the background to have read the first parts.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let first = upload_part(&store, &client, &k, &id, 1, other.clone()).await;
        let third = upload_part(&store, &client, &k, &id, 3, p3.clone()).await;
        (id, [first, second, third])
    };
    let digests = |first: &[u8]| {
        let whole = [first, &p2[..], &p3[..]].concat();
        (
            ExpectedContent {
                sha256: Some(Sha256::of(&whole)),
                md5: Some(Md5::of(&whole)),
                size: Some(whole.len() as u64),
            },
            whole,
        )
    };
    let (id, parts) = send().await;
    let (before, _) = digests(&p1);
    assert_blob_err(
        store.complete_multipart(&k, &id, &parts, &before).await,
        "digest",
    );
    assert_blob_err(store.head(&k).await, "not_found");

    // Again, and completed with the digests of the last bytes sent.
    let (id, parts) = send().await;
    let (after, whole) = digests(&other);
    let meta = store
        .complete_multipart(&k, &id, &parts, &after)
        .await
        .expect("complete with the last bytes' digests");
    assert_eq!(meta.size, whole.len() as u64);
    assert_eq!(read(&store, &k, None).await, Bytes::from(whole));
}

pub async fn multipart_refused_complete_keeps_the_upload(store: Store, client: Client) {
    let k = key("refused");
    let p1 = bytes_of(MIN_PART, 15);
    let p2 = bytes_of(4321, 16);
    let id = store
        .create_multipart(&k, MIN_PART as u64)
        .await
        .expect("create");
    let first = upload_part(&store, &client, &k, &id, 1, p1.clone()).await;
    let second = upload_part(&store, &client, &k, &id, 2, p2.clone()).await;
    let mut whole = p1.to_vec();
    whole.extend_from_slice(&p2);
    let stale = CompletedPart {
        part_number: 2,
        etag: "\"0123456789abcdef0123456789abcdef\"".into(),
    };
    let missing = CompletedPart {
        part_number: 3,
        etag: second.etag.clone(),
    };
    let refused: [Vec<CompletedPart>; 4] = [
        vec![first.clone(), stale],
        vec![first.clone(), second.clone(), missing],
        vec![second.clone(), first.clone()],
        vec![],
    ];
    for parts in refused {
        assert_blob_err(
            store
                .complete_multipart(&k, &id, &parts, &expect_all(&whole))
                .await,
            "precondition",
        );
        let listed = store
            .list_parts(&k, &id)
            .await
            .expect("a refused complete leaves the upload open");
        assert_eq!(
            listed
                .iter()
                .map(|p| (p.part_number, p.size))
                .collect::<Vec<_>>(),
            vec![(1, MIN_PART as u64), (2, p2.len() as u64)],
            "and its stored parts as they were"
        );
        assert_blob_err(store.head(&k).await, "not_found");
    }
    store
        .complete_multipart(&k, &id, &[first, second], &expect_all(&whole))
        .await
        .expect("the right part list still completes");
    assert_same_bytes(&read(&store, &k, None).await, &whole);
}

pub async fn concurrent_puts_of_same_content(store: Store, _c: Client) {
    let data = bytes_of(256 * 1024, 14);
    let sha = Sha256::of(&data);
    let k = ObjectKey::blob(ProjectId::new(), &sha);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (s, k, d) = (store.clone(), k.clone(), data.clone());
            tokio::spawn(async move {
                s.put(&k, stream_from_bytes(d.clone()), &expect_all(&d))
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await
            .expect("join")
            .expect("every concurrent put of the same bytes succeeds");
    }
    assert_same_bytes(&read(&store, &k, None).await, &data);
}

pub async fn stale_multipart_uploads_are_listed(store: Store, _client: Client) {
    let k = key("left-open");
    let prefix = k.as_str().trim_end_matches("left-open").to_owned();
    let other = key("elsewhere");
    let other_id = store
        .create_multipart(&other, MIN_PART as u64)
        .await
        .expect("create");
    let started_after = chrono::Utc::now() - chrono::Duration::seconds(5);
    let id = store
        .create_multipart(&k, MIN_PART as u64)
        .await
        .expect("create");
    let later = chrono::Utc::now() + chrono::Duration::seconds(5);
    let listed = store
        .stale_multipart_uploads(&prefix, later, 100_000)
        .await
        .expect("list");
    let mine = listed
        .iter()
        .find(|u| u.upload_id == id)
        .expect("the open upload is listed");
    assert_eq!(mine.key, k);
    assert!(
        !listed.iter().any(|u| u.upload_id == other_id),
        "uploads outside the prefix are not listed"
    );
    store
        .abort_multipart(&other, &other_id)
        .await
        .expect("abort");
    assert!(mine.initiated > started_after && mine.initiated < later);
    assert!(
        !store
            .stale_multipart_uploads(&prefix, started_after, 100_000)
            .await
            .expect("list")
            .iter()
            .any(|u| u.upload_id == id),
        "started after the cutoff"
    );
    store.abort_multipart(&k, &id).await.expect("abort");
    assert!(
        !store
            .stale_multipart_uploads(&prefix, later, 100_000)
            .await
            .expect("list")
            .iter()
            .any(|u| u.upload_id == id),
        "aborted uploads are gone"
    );
}
