//! Builds the registry from the settings: which metadata store, which blob store.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use wanllmdb_blob_fs::FsBlobStore;
use wanllmdb_blob_s3::{S3BlobStore, S3Config};
use wanllmdb_domain::ports::{BlobStore, MetadataStore, SignedUrlServer};
use wanllmdb_domain::service::{Registry, RegistryConfig};
use wanllmdb_domain::signed_url::UrlSigner;
use wanllmdb_store_sql::{PgStore, SqliteStore};

use crate::config::Settings;

/// The wired application.
pub struct Wired {
    pub registry: Registry,
    pub signed: Option<Arc<dyn SignedUrlServer>>,
}

/// Opens the metadata store named by `database.url`, applying pending migrations.
pub async fn metadata(settings: &Settings) -> anyhow::Result<Arc<dyn MetadataStore>> {
    let url = settings.database.url.trim();
    let max = settings.database.max_connections;
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = PgStore::connect(url, max).map_err(|e| anyhow::anyhow!("{e}"))?;
        let applied = store.migrate().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        if !applied.is_empty() {
            tracing::info!(?applied, "applied PostgreSQL migrations");
        }
        Ok(Arc::new(store))
    } else if url.starts_with("sqlite://") {
        let store = SqliteStore::open(url, max).map_err(|e| anyhow::anyhow!("{e}"))?;
        let applied = store.migrate().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        if !applied.is_empty() {
            tracing::info!(?applied, "applied SQLite migrations");
        }
        Ok(Arc::new(store))
    } else {
        bail!("database.url must start with sqlite:// or postgres://, got {url:?}")
    }
}

/// The HMAC secret of the filesystem store's URLs: configured, or generated once into the root.
fn signing_secret(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    if !settings.auth.signing_secret.is_empty() {
        return Ok(settings.auth.signing_secret.as_bytes().to_vec());
    }
    let root = std::path::Path::new(&settings.storage.fs.root);
    std::fs::create_dir_all(root).with_context(|| format!("cannot create {}", root.display()))?;
    let path = root.join(".signing-key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if existing.trim().len() >= 32 {
            return Ok(existing.trim().as_bytes().to_vec());
        }
    }
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(&path, &secret).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(secret.into_bytes())
}

/// Builds the registry; `public_url` is where clients reach this server.
pub async fn wire(settings: &Settings, public_url: &str) -> anyhow::Result<Wired> {
    let meta = metadata(settings).await?;
    let (blobs, signed): (Arc<dyn BlobStore>, Option<Arc<dyn SignedUrlServer>>) =
        match settings.storage.backend.as_str() {
            "fs" => {
                let signer = UrlSigner::new(
                    signing_secret(settings)?,
                    format!("{}/api/v1", public_url.trim_end_matches('/')),
                );
                let fs = Arc::new(
                    FsBlobStore::open(&settings.storage.fs.root, signer)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?,
                );
                (fs.clone(), Some(fs))
            }
            "s3" => {
                let s = &settings.storage.s3;
                if s.endpoint.is_empty() {
                    bail!("storage.backend is s3 but storage.s3.endpoint is empty");
                }
                let store = S3BlobStore::connect(S3Config {
                    endpoint: s.endpoint.clone(),
                    region: s.region.clone(),
                    bucket: s.bucket.clone(),
                    access_key: s.access_key.clone(),
                    secret_key: s.secret_key.clone(),
                    path_style: s.path_style,
                    part_size: s.part_size,
                })
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
                (Arc::new(store), None)
            }
            other => bail!("storage.backend must be fs or s3, got {other:?}"),
        };
    let ttl = Duration::from_secs(settings.uploads.url_ttl_seconds.max(1));
    let config = RegistryConfig {
        upload_url_ttl: ttl,
        download_url_ttl: ttl,
        max_batch: settings.uploads.max_batch.max(1),
        multipart_threshold: settings.uploads.multipart_threshold,
        part_size: settings.uploads.part_size,
        ..RegistryConfig::default()
    };
    Ok(Wired {
        registry: Registry::new(meta, blobs, config),
        signed,
    })
}
