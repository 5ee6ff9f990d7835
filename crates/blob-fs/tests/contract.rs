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
