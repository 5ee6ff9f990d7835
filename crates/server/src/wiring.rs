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
    /// Where pages may connect besides this server (the object store's presigned URLs).
    pub store_origin: Option<String>,
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
    generated_secret(&root.join(".signing-key"))
}

/// The secret kept at `path`, created if missing. Instances starting together on one root agree
/// on it: the new secret is written whole to a private temporary file (mode 0600) and linked into
/// place, which fails if another instance was first; that one's secret is then used.
fn generated_secret(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Write as _;
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let read = |path: &std::path::Path| -> anyhow::Result<Vec<u8>> {
        let existing = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let secret = existing.trim();
        if secret.len() < 32 {
            anyhow::bail!(
                "{} holds no valid signing secret (32 or more characters); delete it to have a \
                 new one generated (URLs signed with the old one stop working), or set \
                 auth.signing_secret",
                path.display()
            );
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {} to its owner", path.display()))?;
        Ok(secret.as_bytes().to_vec())
    };
    if path.exists() {
        return read(path);
    }
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = path.with_extension(format!("{}.tmp", uuid::Uuid::now_v7().simple()));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(secret.as_bytes())?;
        f.sync_all()?;
        std::fs::hard_link(&tmp, path)
    })();
    let _ = std::fs::remove_file(&tmp);
    match written {
        Ok(()) => Ok(secret.into_bytes()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path),
        Err(e) => Err(e).with_context(|| format!("cannot write {}", path.display())),
    }
}

/// Builds the registry; `public_url` is where clients reach this server.
pub async fn wire(settings: &Settings, public_url: &str) -> anyhow::Result<Wired> {
    let meta = metadata(settings).await?;
    let mut store_origin = None;
    let (blobs, signed): (Arc<dyn BlobStore>, Option<Arc<dyn SignedUrlServer>>) = match settings
        .storage
        .backend
        .as_str()
    {
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
            let origins: Vec<String> = s
                .cors_origins
                .split(',')
                .map(|o| o.trim().trim_end_matches('/').to_owned())
                .filter(|o| !o.is_empty())
                .collect();
            if !origins.is_empty() {
                // Uploads from the CLI and SDKs work without it: warn, do not stop.
                match store.allow_browsers(&origins).await {
                    Ok(()) => tracing::info!(?origins, "bucket CORS rule set for browser uploads"),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not set the bucket's CORS rule (storage.s3.cors_origins): browsers cannot upload to the store directly")
                    }
                }
            }
            store_origin = Some(store.url_origin());
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
        max_object_size: settings.uploads.max_file_size.max(1),
        session_ttl: Duration::from_secs(settings.auth.session_ttl_hours.max(1) * 3600),
        ..RegistryConfig::default()
    };
    Ok(Wired {
        registry: Registry::new(meta, blobs, config),
        signed,
        store_origin,
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::generated_secret;

    #[test]
    fn instances_starting_together_agree_on_one_private_secret() {
        let dir =
            std::env::temp_dir().join(format!("wanllmdb-secret-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join(".signing-key");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(16));
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    generated_secret(&path).expect("secret")
                })
            })
            .collect();
        let secrets: Vec<Vec<u8>> = threads
            .into_iter()
            .map(|t| t.join().expect("join"))
            .collect();
        assert!(secrets.iter().all(|s| *s == secrets[0] && s.len() == 64));
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only the owner may read the secret");
        let left: Vec<_> = std::fs::read_dir(&dir).expect("ls").flatten().collect();
        assert_eq!(left.len(), 1, "no temporary file is left: {left:?}");
        // A secret from an older version, readable by all, is kept and made private.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert_eq!(generated_secret(&path).expect("again"), secrets[0]);
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(&path, "short").expect("write");
        let e = generated_secret(&path).expect_err("a broken secret is not replaced silently");
        assert!(e.to_string().contains("no valid signing secret"), "{e}");
        std::fs::remove_dir_all(&dir).expect("clean");
    }
}
