//! The blob contract suite on the filesystem store, with its signed URLs served the way the HTTP
//! layer serves them.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use wanllmdb_blob_fs::FsBlobStore;
use wanllmdb_domain::ports::{
    collect_stream, stream_from_bytes, BlobStore, ByteStream, PresignedRequest, SignedServe,
    SignedUrlServer,
};
use wanllmdb_domain::signed_url::UrlSigner;
use wanllmdb_testkit::{PresignedClient, PresignedResponse};

struct FsClient(Arc<FsBlobStore>);

#[async_trait]
impl PresignedClient for FsClient {
    async fn send(
        &self,
        request: &PresignedRequest,
        body: Bytes,
    ) -> Result<PresignedResponse, String> {
        match self
            .0
            .serve_signed(&request.method, &request.url, stream_from_bytes(body), None)
            .await
        {
            Ok(SignedServe::Stored { etag }) => Ok(PresignedResponse {
                status: 200,
                etag: Some(etag),
                body: Bytes::new(),
            }),
            Ok(SignedServe::Read { result, .. }) => {
                let etag = result.meta.etag.clone();
                let body = collect_stream(result.body)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(PresignedResponse {
                    status: 200,
                    etag,
                    body,
                })
            }
            Err(e) => Ok(PresignedResponse::from_error(&e)),
        }
    }
}

pub async fn store() -> (Arc<dyn BlobStore>, Arc<dyn PresignedClient>) {
    let root = std::env::temp_dir()
        .join("wanllmdb-blob-fs-tests")
        .join(uuid::Uuid::now_v7().simple().to_string());
    let store = Arc::new(
        FsBlobStore::open(
            root,
            UrlSigner::new(b"test-secret".to_vec(), "http://127.0.0.1:1/api/v1"),
        )
        .await
        .expect("open"),
    );
    (store.clone(), Arc::new(FsClient(store)))
}

mod contract {
    use super::*;
    wanllmdb_testkit::blob_contract_tests!(store());
}

#[tokio::test]
async fn a_failed_write_leaves_no_temporary_file() {
    let root = std::env::temp_dir()
        .join("wanllmdb-blob-fs-tests")
        .join(uuid::Uuid::now_v7().simple().to_string());
    let store = FsBlobStore::open(&root, UrlSigner::new(b"k".to_vec(), "http://h"))
        .await
        .expect("open");
    let key = wanllmdb_domain::keys::ObjectKey::parse("a/b").expect("key");
    let wrong = wanllmdb_domain::ports::ExpectedContent {
        sha256: Some(wanllmdb_domain::types::Sha256::of(b"other")),
        ..Default::default()
    };
    // Small bodies are held in memory, large ones spooled to a file: both refused cleanly,
    // and so is a large body that breaks off.
    let chunks = |n: usize| (0..n).map(|_| Ok(Bytes::from(vec![7u8; 64 << 10])));
    let broken = chunks(8).chain([Err(std::io::Error::other("connection reset"))]);
    let bodies: Vec<(&str, ByteStream)> = vec![
        ("small", stream_from_bytes(Bytes::from_static(b"data"))),
        ("large", Box::pin(futures::stream::iter(chunks(8)))),
        ("broken", Box::pin(futures::stream::iter(broken))),
    ];
    for (what, body) in bodies {
        assert!(store.put(&key, body, &wrong).await.is_err(), "{what}");
        let leftovers = std::fs::read_dir(root.join("tmp")).expect("tmp").count();
        assert_eq!(leftovers, 0, "{what}: the temporary file is removed");
        assert!(!root.join("objects/a/b").exists(), "{what}");
    }
}

#[tokio::test]
async fn signed_urls_refuse_tampering_and_wrong_methods() {
    let root = std::env::temp_dir()
        .join("wanllmdb-blob-fs-tests")
        .join(uuid::Uuid::now_v7().simple().to_string());
    let store = FsBlobStore::open(&root, UrlSigner::new(b"k".to_vec(), "http://h"))
        .await
        .expect("open");
    let key = wanllmdb_domain::keys::ObjectKey::parse("x/y").expect("key");
    let get = store
        .presign_get(&key, None, std::time::Duration::from_secs(60))
        .await
        .expect("presign");
    let put_with_get_url = store
        .serve_signed(
            "PUT",
            &get.url,
            stream_from_bytes(Bytes::from_static(b"z")),
            None,
        )
        .await;
    assert!(put_with_get_url.is_err(), "a GET URL cannot write");
    let forged = get.url.replace("key=x%2Fy", "key=x%2Fz");
    assert!(store
        .serve_signed("GET", &forged, stream_from_bytes(Bytes::new()), None)
        .await
        .is_err());
}

/// Parts are written in place (part n at (n - 1) x part size). Parts that do not tile the file
/// (a short part before the last, a gap in the numbers) still assemble, by copying; a part
/// longer than the part size is refused before it can overwrite its neighbour.
#[tokio::test]
async fn multipart_parts_of_any_shape_assemble_correctly() {
    use wanllmdb_domain::ports::{CompletedPart, ExpectedContent};
    use wanllmdb_domain::types::Sha256;
    let (store, client) = store().await;
    let part = |store: Arc<dyn BlobStore>, key, id: String, n: u32, data: &'static [u8]| {
        let client = client.clone();
        async move {
            let req = store
                .presign_part(&key, &id, n, std::time::Duration::from_secs(60))
                .await
                .expect("presign");
            let resp = client
                .send(&req, Bytes::from_static(data))
                .await
                .expect("send");
            (resp.status, resp.etag)
        }
    };
    /// Parts (number, bytes) and the object they make.
    type Case = (&'static [(u32, &'static [u8])], &'static [u8]);
    let cases: [Case; 3] = [
        (&[(1, b"abcd"), (2, b"ef")], b"abcdef"),
        (&[(1, b"ab"), (2, b"cdef")], b"abcdef"),
        (&[(1, b"abcd"), (3, b"xy")], b"abcdxy"),
    ];
    for (i, (parts, whole)) in cases.into_iter().enumerate() {
        let key = wanllmdb_domain::keys::ObjectKey::parse(format!("shapes/{i}")).expect("key");
        let id = store.create_multipart(&key, 4).await.expect("create");
        let mut done = Vec::new();
        for &(n, data) in parts {
            let (status, etag) = part(store.clone(), key.clone(), id.clone(), n, data).await;
            assert_eq!(status, 200, "case {i} part {n}");
            done.push(CompletedPart {
                part_number: n,
                etag: etag.expect("etag"),
            });
        }
        let expected = ExpectedContent {
            sha256: Some(Sha256::of(whole)),
            md5: None,
            size: Some(whole.len() as u64),
        };
        store
            .complete_multipart(&key, &id, &done, &expected)
            .await
            .unwrap_or_else(|e| panic!("case {i}: {e}"));
        let read = store.get(&key, None).await.expect("read");
        assert_eq!(
            collect_stream(read.body).await.expect("body"),
            whole,
            "case {i}"
        );
    }
    let key = wanllmdb_domain::keys::ObjectKey::parse("shapes/long").expect("key");
    let id = store.create_multipart(&key, 4).await.expect("create");
    let (status, _) = part(store.clone(), key.clone(), id.clone(), 1, b"abcdef").await;
    assert_eq!(status, 400, "a part longer than the part size is refused");
    assert!(store.list_parts(&key, &id).await.expect("list").is_empty());

    // A part sent again replaces the first upload of it: one listed part, the new ETag.
    let (_, first) = part(store.clone(), key.clone(), id.clone(), 1, b"wxyz").await;
    let (_, second) = part(store.clone(), key.clone(), id.clone(), 1, b"abcd").await;
    let (first, second) = (first.expect("etag"), second.expect("etag"));
    assert_ne!(first, second);
    let listed = store.list_parts(&key, &id).await.expect("list");
    assert_eq!(
        listed
            .iter()
            .map(|p| (p.part_number, p.size, p.etag.clone()))
            .collect::<Vec<_>>(),
        [(1, 4, second.clone())]
    );
    let only = |etag: String| {
        [CompletedPart {
            part_number: 1,
            etag,
        }]
    };
    let expected = ExpectedContent {
        sha256: Some(Sha256::of(b"abcd")),
        md5: None,
        size: Some(4),
    };
    assert!(store
        .complete_multipart(&key, &id, &only(first), &expected)
        .await
        .is_err());
}

async fn fresh_store() -> (FsBlobStore, std::path::PathBuf) {
    let root = std::env::temp_dir()
        .join("wanllmdb-blob-fs-tests")
        .join(uuid::Uuid::now_v7().simple().to_string());
    let store = FsBlobStore::open(&root, UrlSigner::new(b"k".to_vec(), "http://h"))
        .await
        .expect("open");
    (store, root)
}

fn age(path: &std::path::Path, secs: u64) {
    let then = std::time::SystemTime::now() - std::time::Duration::from_secs(secs);
    let f = std::fs::File::options()
        .write(true)
        .open(path)
        .or_else(|_| std::fs::File::open(path))
        .expect("open");
    f.set_modified(then).expect("set mtime");
}

/// Interrupted writes leave temporary files and half-made upload folders; the sweep removes those
/// older than its cutoff and nothing else (not open uploads, not objects, not fresh writes).
#[tokio::test]
async fn leftovers_of_interrupted_writes_are_swept() {
    let (store, root) = fresh_store().await;
    let key = wanllmdb_domain::keys::ObjectKey::parse("projects/p/kept").expect("key");
    store
        .put(
            &key,
            stream_from_bytes(Bytes::from_static(b"kept")),
            &Default::default(),
        )
        .await
        .expect("put");
    age(&root.join("objects/projects/p/kept"), 7200);
    let stale_tmp = root.join("tmp/0190aaaa");
    std::fs::write(&stale_tmp, vec![0u8; 1000]).expect("tmp");
    age(&stale_tmp, 7200);
    let fresh_tmp = root.join("tmp/0190bbbb");
    std::fs::write(&fresh_tmp, b"in flight").expect("tmp");
    let half_made = root.join("multipart/0190cccc0000000000000000000000cc");
    std::fs::create_dir_all(&half_made).expect("dir");
    std::fs::write(half_made.join("data"), vec![0u8; 24]).expect("data");
    age(&half_made.join("data"), 7200);
    age(&half_made, 7200);
    let open = store.create_multipart(&key, 4).await.expect("open upload");
    age(&root.join("multipart").join(&open), 7200);

    let hour_ago = chrono::Utc::now() - chrono::Duration::seconds(3600);
    let dry = store.sweep_leftovers(hour_ago, true).await.expect("dry");
    assert_eq!((dry.items, dry.bytes), (2, 1024));
    assert!(
        stale_tmp.exists() && half_made.exists(),
        "a dry run removes nothing"
    );
    let swept = store.sweep_leftovers(hour_ago, false).await.expect("sweep");
    assert_eq!((swept.items, swept.bytes), (2, 1024));
    assert!(!stale_tmp.exists() && !half_made.exists());
    assert!(fresh_tmp.exists(), "a write in flight stays");
    assert!(
        store.list_parts(&key, &open).await.is_ok(),
        "an open upload stays"
    );
    assert!(store.head(&key).await.is_ok(), "objects stay");
    let again = store.sweep_leftovers(hour_ago, false).await.expect("sweep");
    assert_eq!(again.items, 0);
    std::fs::remove_dir_all(&root).expect("clean");
}

/// Pages come in byte order of the keys (a folder "a" sorts as "a/", after "a-b" and before
/// "a0"), each page reading only the folders that can hold its keys.
#[tokio::test]
async fn listing_pages_in_key_order() {
    let (store, root) = fresh_store().await;
    let mut names = vec![
        "a-b", "a/x", "a/y/z", "a0", "b", "a/y-1", "a/y/a", "c/d/e/f",
    ];
    for n in &names {
        let key = wanllmdb_domain::keys::ObjectKey::parse(format!("l/{n}")).expect("key");
        store
            .put(
                &key,
                stream_from_bytes(Bytes::from_static(b".")),
                &Default::default(),
            )
            .await
            .expect("put");
    }
    names.sort_unstable();
    for limit in [1, 2, 3, 100] {
        let mut got = Vec::new();
        let mut after = None;
        loop {
            let page = store.list("l/", after.as_ref(), limit).await.expect("list");
            assert!(page.objects.len() <= limit);
            got.extend(page.objects.iter().map(|o| o.key.as_str()[2..].to_owned()));
            match page.next_after {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        assert_eq!(got, names, "pages of {limit}");
    }
    let under_a = store.list("l/a/y", None, 100).await.expect("list");
    let keys: Vec<&str> = under_a.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["l/a/y-1", "l/a/y/a", "l/a/y/z"]);
    std::fs::remove_dir_all(&root).expect("clean");
}

/// A store that fails (here: its temporary folder replaced by a file) says it is unavailable,
/// which the API answers 503, never 500; a full disk is insufficient storage (507).
#[tokio::test]
async fn store_failures_are_unavailable_not_internal() {
    use wanllmdb_domain::ports::BlobError;
    let (store, root) = fresh_store().await;
    std::fs::remove_dir_all(root.join("tmp")).expect("rm");
    std::fs::write(root.join("tmp"), b"not a folder").expect("file");
    let key = wanllmdb_domain::keys::ObjectKey::parse("x/y").expect("key");
    let err = store
        .put(
            &key,
            stream_from_bytes(Bytes::from_static(b"z")),
            &Default::default(),
        )
        .await
        .expect_err("cannot write");
    assert!(matches!(err, BlobError::Unavailable(_)), "{err:?}");
    assert_eq!(err.http_status(), 503);
    let full = BlobError::from_io(std::io::Error::from_raw_os_error(28));
    assert!(
        matches!(full, BlobError::InsufficientStorage(_)),
        "{full:?}"
    );
    assert_eq!(full.http_status(), 507);
    std::fs::remove_dir_all(&root).expect("clean");
}
