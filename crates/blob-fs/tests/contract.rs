//! The blob contract suite on the filesystem store, with its signed URLs served the way the HTTP
//! layer serves them.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use wanllmdb_blob_fs::FsBlobStore;
use wanllmdb_domain::ports::{
    collect_stream, stream_from_bytes, BlobStore, PresignedRequest, SignedServe, SignedUrlServer,
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
    assert!(store
        .put(&key, stream_from_bytes(Bytes::from_static(b"data")), &wrong)
        .await
        .is_err());
    let leftovers = std::fs::read_dir(root.join("tmp")).expect("tmp").count();
    assert_eq!(leftovers, 0, "the temporary file is removed");
    assert!(!root.join("objects/a/b").exists());
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
