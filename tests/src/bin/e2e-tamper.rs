//! Overwrites a blob in the test bucket behind the registry's back, for the Python suite's
//! integrity test on PostgreSQL + Garage: `e2e-tamper PROJECT_ID SHA256` writes `tampered` at
//! that blob's key, with the bucket from `TEST_S3_*`.

use wanllmdb_domain::ports::{BlobStore, ByteStream, ExpectedContent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [project, sha] = args.as_slice() else {
        anyhow::bail!("usage: e2e-tamper PROJECT_ID SHA256");
    };
    let env = |k: &str| std::env::var(k).map_err(|_| anyhow::anyhow!("{k} is not set"));
    let store = wanllmdb_blob_s3::S3BlobStore::connect(wanllmdb_blob_s3::S3Config {
        endpoint: env("TEST_S3_ENDPOINT")?,
        region: env("TEST_S3_REGION")?,
        bucket: env("TEST_S3_BUCKET")?,
        access_key: env("TEST_S3_ACCESS_KEY")?,
        secret_key: env("TEST_S3_SECRET_KEY")?,
        path_style: true,
        part_size: 5 << 20,
    })
    .await?;
    let key = wanllmdb_domain::keys::ObjectKey::blob(
        wanllmdb_domain::ids::ProjectId::from_uuid(project.parse()?),
        &wanllmdb_domain::types::Sha256::parse(sha)?,
    );
    let body: ByteStream = Box::pin(futures::stream::once(async {
        Ok(bytes::Bytes::from_static(b"tampered"))
    }));
    store.put(&key, body, &ExpectedContent::default()).await?;
    Ok(())
}
