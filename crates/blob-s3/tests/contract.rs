//! The blob contract suite on a real S3-compatible store: Garage, started by `make test`, or the
//! store `TEST_S3_*` names.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use wanllmdb_blob_s3::{S3BlobStore, S3Config, DEFAULT_PART_SIZE};
use wanllmdb_domain::ports::{BlobStore, PresignedRequest};
use wanllmdb_testkit::{PresignedClient, PresignedResponse};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: the S3 tests need an S3-compatible store. Run them with `make test` \
             (which starts Garage), or start it with `make services` and `set -a; . target/services/env; set +a`, \
             or set TEST_S3_ENDPOINT, TEST_S3_REGION, TEST_S3_BUCKET, TEST_S3_ACCESS_KEY and TEST_S3_SECRET_KEY."
        )
    })
}

pub fn config(bucket: Option<String>) -> S3Config {
    S3Config {
        endpoint: env("TEST_S3_ENDPOINT"),
        region: env("TEST_S3_REGION"),
        bucket: bucket.unwrap_or_else(|| env("TEST_S3_BUCKET")),
        access_key: env("TEST_S3_ACCESS_KEY"),
        secret_key: env("TEST_S3_SECRET_KEY"),
        path_style: true,
        part_size: DEFAULT_PART_SIZE,
    }
}

/// Sends presigned requests over HTTP, exactly as a client without credentials would.
struct HttpClient(reqwest::Client);

#[async_trait]
impl PresignedClient for HttpClient {
    async fn send(
        &self,
        request: &PresignedRequest,
        body: Bytes,
    ) -> Result<PresignedResponse, String> {
        let method =
            reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|e| e.to_string())?;
        let mut req = self.0.request(method, &request.url);
        for (k, v) in &request.headers {
            req = req.header(k, v);
        }
        if request.method != "GET" {
            req = req.body(body);
        }
        let resp = req.send().await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let etag = resp
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp.bytes().await.map_err(|e| e.to_string())?;
        Ok(PresignedResponse { status, etag, body })
    }
}

async fn store() -> (Arc<dyn BlobStore>, Arc<dyn PresignedClient>) {
    let store = S3BlobStore::connect(config(None))
        .await
        .expect("connect to S3");
    (
        Arc::new(store),
        Arc::new(HttpClient(reqwest::Client::new())),
    )
}

mod contract {
    use super::*;
    wanllmdb_testkit::blob_contract_tests!(store());
}

#[tokio::test]
async fn a_missing_bucket_is_created() {
    let name = format!(
        "wanllmdb-new-{}",
        &uuid::Uuid::now_v7().simple().to_string()[20..]
    );
    let store = S3BlobStore::connect(config(Some(name.clone())))
        .await
        .expect("connect creates the bucket");
    store.ping().await.expect("the new bucket answers");
    let again = S3BlobStore::connect(config(Some(name)))
        .await
        .expect("connecting again finds it");
    again.ping().await.expect("ping");
}

#[tokio::test]
async fn presigned_gets_carry_the_download_name() {
    use wanllmdb_domain::keys::ObjectKey;
    use wanllmdb_domain::ports::{stream_from_bytes, ExpectedContent};
    let (store, client) = store().await;
    let key = ObjectKey::parse(format!("names/{}", uuid::Uuid::now_v7().simple())).expect("key");
    store
        .put(
            &key,
            stream_from_bytes(Bytes::from_static(b"hello")),
            &ExpectedContent::default(),
        )
        .await
        .expect("put");
    let req = store
        .presign_get(
            &key,
            Some("model weights.bin"),
            std::time::Duration::from_secs(60),
        )
        .await
        .expect("presign");
    let resp = reqwest::get(&req.url).await.expect("get");
    assert_eq!(resp.status().as_u16(), 200);
    let disposition = resp
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(disposition.contains("model weights.bin"), "{disposition}");
    assert_eq!(
        client.send(&req, Bytes::new()).await.expect("send").body,
        Bytes::from_static(b"hello")
    );
}

#[tokio::test]
async fn an_expired_url_is_refused() {
    use wanllmdb_domain::keys::ObjectKey;
    use wanllmdb_domain::ports::{stream_from_bytes, ExpectedContent};
    let (store, client) = store().await;
    let key = ObjectKey::parse(format!("expiry/{}", uuid::Uuid::now_v7().simple())).expect("key");
    store
        .put(
            &key,
            stream_from_bytes(Bytes::from_static(b"x")),
            &ExpectedContent::default(),
        )
        .await
        .expect("put");
    let req = store
        .presign_get(&key, None, std::time::Duration::from_secs(1))
        .await
        .expect("presign");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let resp = client.send(&req, Bytes::new()).await.expect("send");
    // AWS answers 403, Garage 400: either way a refusal, and no bytes.
    assert!(
        (400..500).contains(&resp.status),
        "an expired signature is refused: {resp:?}"
    );
    assert!(resp.body != Bytes::from_static(b"x"));
}
