//! A whole version, or one folder of it, as one streaming zip: entries are stored (model
//! weights do not compress), zip64 throughout so files and archives past 4 GiB work, written
//! through a small pipe as the bytes arrive from the store, with no temporary file. Server
//! memory is the pipe, a page of listed files and the zip's central directory (about 100
//! bytes per file).

use async_zip::base::write::ZipFileWriter;
use async_zip::{Compression, ZipDateTime, ZipEntryBuilder};
use futures::{AsyncWriteExt as _, StreamExt as _};
use tokio_util::compat::TokioAsyncWriteCompatExt as _;
use wanllmdb_api::ArchiveQuery;
use wanllmdb_domain::entities::ArtifactFile;
use wanllmdb_domain::ports::{Page, PageRequest};
use wanllmdb_domain::service::Actor;

use super::downloads::attachment;
use super::prelude::*;

/// The pipe between the zip writer and the response.
const PIPE_BYTES: usize = 256 << 10;
/// Files listed per page while writing.
const PAGE: u32 = 1000;

#[utoipa::path(
    get,
    path = "/api/v1/artifacts/versions/{version_id}/archive",
    tag = "downloads",
    summary = "The version's files (those under prefix) as one streaming zip; records one download of the version.",
    params(("version_id" = Uuid, Path, description = "A version's id."), ArchiveQuery),
    responses(
        (status = 200, description = "A zip archive (zip64, entries stored).", body = Binary, content_type = "application/zip"),
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
pub async fn archive(
    state: State,
    auth: Auth,
    path: web::Path<VersionId>,
    q: web::Query<ArchiveQuery>,
) -> ApiResult<HttpResponse> {
    let (actor, version) = (auth.0, *path);
    let prefix = q.into_inner().prefix;
    let view = state.registry.get_version(&actor, version).await?;
    let artifact = state
        .registry
        .get_artifact(&actor, view.version.artifact_id)
        .await?;
    // Errors that can still be answered as such come before the first byte.
    let first = state
        .registry
        .list_files(&actor, version, prefix.as_deref(), PageRequest::first(PAGE))
        .await?;
    if first.items.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "no files under {:?} in this version",
                prefix.as_deref().unwrap_or("")
            ),
        ));
    }
    state
        .registry
        .record_version_download(&actor, version)
        .await?;

    // `model-v3.zip`, or for a folder `model-v3-checkpoints.zip`.
    let folder = prefix
        .as_deref()
        .map(|p| p.trim_end_matches('/'))
        .and_then(|p| p.rsplit('/').next())
        .filter(|f| !f.is_empty())
        .map(|f| format!("-{f}"))
        .unwrap_or_default();
    let name = format!(
        "{}-v{}{folder}.zip",
        artifact.name.as_str(),
        view.version.index.0
    );
    let (reader, writer) = tokio::io::duplex(PIPE_BYTES);
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let writing = state.clone();
    actix_web::rt::spawn(async move {
        let result = write_zip(&writing, actor, version, prefix, first, writer).await;
        if let Err(e) = &result {
            tracing::warn!(%version, error = %e, "zip archive cut short");
        }
        let _ = done_tx.send(result);
    });
    // A failure midway must not look like a complete archive: the body ends in an error, which
    // aborts the response instead of closing it cleanly.
    let failure = futures::stream::once(async move {
        match done_rx.await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(Err(e)),
            Err(_) => Some(Err(std::io::Error::other("the archive writer stopped"))),
        }
    })
    .filter_map(|r| async move { r });
    let body = tokio_util::io::ReaderStream::new(reader).chain(failure);
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header(attachment(&name))
        .streaming(body))
}

async fn write_zip(
    state: &State,
    actor: Actor,
    version: VersionId,
    prefix: Option<String>,
    first: Page<ArtifactFile, FilePath>,
    writer: tokio::io::DuplexStream,
) -> std::io::Result<()> {
    let zip_err = |e: async_zip::error::ZipError| std::io::Error::other(e.to_string());
    let mut zip = ZipFileWriter::new(writer.compat_write());
    let mut page = first;
    loop {
        for file in &page.items {
            let read = state
                .registry
                .read_listed(file)
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            let entry =
                ZipEntryBuilder::new(file.path.as_str().to_owned().into(), Compression::Stored)
                    .unix_permissions(0o644)
                    .last_modification_date(ZipDateTime::from_chrono(&file.created_at));
            let mut out = zip.write_entry_stream(entry).await.map_err(zip_err)?;
            let mut body = read.body;
            while let Some(chunk) = body.next().await {
                out.write_all(&chunk?).await?;
            }
            out.close().await.map_err(zip_err)?;
        }
        let Some(after) = page.next else { break };
        page = state
            .registry
            .list_files(
                &actor,
                version,
                prefix.as_deref(),
                PageRequest {
                    after: Some(after),
                    limit: PAGE,
                },
            )
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
    }
    let mut inner = zip.close().await.map_err(zip_err)?;
    inner.close().await
}
