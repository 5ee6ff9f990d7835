//! The route handlers: DTO in, validated domain request, use case, DTO out.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use futures::StreamExt;
use uuid::Uuid;
use wanllmdb_domain::entities::Download;
use wanllmdb_domain::ids::*;
use wanllmdb_domain::ports::{ByteRange, ByteStream, SignedServe};
use wanllmdb_domain::reference::ArtifactRef;
use wanllmdb_domain::service::{CreateArtifact, CreateVersion, GcOptions, VersionTarget};
use wanllmdb_domain::types::*;

use crate::auth::Auth;
use crate::dto::*;
use crate::error::{ApiError, ApiResult};
use crate::json::{from_object_slice, Json};
use crate::query::Query;
use crate::AppState;

type State = web::Data<AppState>;

fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> HttpResponse {
    HttpResponse::build(status).json(body)
}

fn ok<T: serde::Serialize>(body: &T) -> ApiResult<HttpResponse> {
    Ok(json(StatusCode::OK, body))
}

fn created<T: serde::Serialize>(body: &T) -> ApiResult<HttpResponse> {
    Ok(json(StatusCode::CREATED, body))
}

fn metadata(v: serde_json::Value) -> ApiResult<Metadata> {
    valid(Metadata::parse(v))
}

// ------------------------------------------------------------------ system

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

pub async fn readyz(state: State) -> HttpResponse {
    match state.registry.ready().await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            HttpResponse::ServiceUnavailable()
                .content_type("application/problem+json")
                .json(serde_json::json!({
                    "type": "https://wanllmdb.dev/problems/not_ready",
                    "title": "Service Unavailable", "status": 503, "code": "not_ready",
                    "detail": "the database or the blob store does not answer",
                }))
        }
    }
}

// ------------------------------------------------------------------ users and keys

pub async fn me(state: State, auth: Auth) -> ApiResult<HttpResponse> {
    let user = state.registry.get_user(&auth.0, auth.0.user_id).await?;
    ok(&user)
}

pub async fn create_user(
    state: State,
    auth: Auth,
    body: Json<CreateUserDto>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let user = state
        .registry
        .create_user(&auth.0, valid(UserName::parse(body.name))?, body.is_admin)
        .await?;
    created(&user)
}

pub async fn create_key(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
    body: Json<CreateKeyDto>,
) -> ApiResult<HttpResponse> {
    let key = state
        .registry
        .create_api_key(&auth.0, UserId::from_uuid(*path), &body.label)
        .await?;
    created(&serde_json::json!({ "key": ApiKeyDto::from(key.key), "secret": key.secret }))
}

pub async fn list_keys(state: State, auth: Auth, path: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    let keys = state
        .registry
        .list_api_keys(&auth.0, UserId::from_uuid(*path))
        .await?;
    ok(&keys.into_iter().map(ApiKeyDto::from).collect::<Vec<_>>())
}

pub async fn revoke_key(
    state: State,
    auth: Auth,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (user, key) = path.into_inner();
    let key = state
        .registry
        .revoke_api_key(&auth.0, UserId::from_uuid(user), ApiKeyId::from_uuid(key))
        .await?;
    ok(&ApiKeyDto::from(key))
}

// ------------------------------------------------------------------ projects

pub async fn create_project(
    state: State,
    auth: Auth,
    body: Json<CreateProjectDto>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let project = state
        .registry
        .create_project(
            &auth.0,
            valid(ProjectName::parse(body.name))?,
            valid(Description::parse(body.description))?,
        )
        .await?;
    created(&project)
}

pub async fn list_projects(
    state: State,
    auth: Auth,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let req = q.request(|s| ProjectName::parse(s).ok())?;
    let p = state.registry.list_projects(&auth.0, req).await?;
    ok(&page(p, |p| p, |k| k.to_string()))
}

pub async fn get_project(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    ok(&state
        .registry
        .get_project(&auth.0, ProjectId::from_uuid(*path))
        .await?)
}

pub async fn delete_project(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .registry
        .delete_project(&auth.0, ProjectId::from_uuid(*path))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn list_members(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    ok(&state
        .registry
        .list_members(&auth.0, ProjectId::from_uuid(*path))
        .await?)
}

pub async fn set_member(
    state: State,
    auth: Auth,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<MemberDto>,
) -> ApiResult<HttpResponse> {
    let (project, user) = path.into_inner();
    let role: Role = valid(body.role.parse())?;
    let m = state
        .registry
        .set_member(
            &auth.0,
            ProjectId::from_uuid(project),
            UserId::from_uuid(user),
            role,
        )
        .await?;
    ok(&m)
}

pub async fn remove_member(
    state: State,
    auth: Auth,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (project, user) = path.into_inner();
    state
        .registry
        .remove_member(
            &auth.0,
            ProjectId::from_uuid(project),
            UserId::from_uuid(user),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ------------------------------------------------------------------ artifacts

pub async fn create_artifact(
    state: State,
    auth: Auth,
    body: Json<CreateArtifactDto>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let req = CreateArtifact {
        project_id: ProjectId::from_uuid(b.project_id),
        name: valid(ArtifactName::parse(b.name))?,
        artifact_type: valid(b.artifact_type.parse())?,
        description: valid(Description::parse(b.description))?,
        metadata: metadata(b.metadata)?,
    };
    created(&ArtifactDto::from(
        state.registry.create_artifact(&auth.0, req).await?,
    ))
}

pub async fn list_artifacts(
    state: State,
    auth: Auth,
    q: Query<ArtifactQuery>,
) -> ApiResult<HttpResponse> {
    let (filter, sort, req) = q.into_inner().into_parts()?;
    let p = state
        .registry
        .list_artifacts(&auth.0, filter, &sort, req)
        .await?;
    ok(&page(p, ArtifactDto::from, sort_key_cursor))
}

pub async fn get_artifact(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    ok(&ArtifactDto::from(
        state
            .registry
            .get_artifact(&auth.0, ArtifactId::from_uuid(*path))
            .await?,
    ))
}

pub async fn update_artifact(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
    body: Json<PatchDto>,
) -> ApiResult<HttpResponse> {
    let patch = body.into_inner().into_patch()?;
    ok(&ArtifactDto::from(
        state
            .registry
            .update_artifact(&auth.0, ArtifactId::from_uuid(*path), patch)
            .await?,
    ))
}

pub async fn delete_artifact(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .registry
        .delete_artifact(&auth.0, ArtifactId::from_uuid(*path))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ------------------------------------------------------------------ versions

pub async fn create_version(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    // The body is optional: an empty POST makes a version with no description or metadata.
    let b: CreateVersionDto = if body.iter().all(u8::is_ascii_whitespace) {
        CreateVersionDto::default()
    } else {
        from_object_slice(&body)?
    };
    let req = CreateVersion {
        description: valid(Description::parse(b.description))?,
        metadata: metadata(b.metadata)?,
        run_id: b.run_id.map(RunId::from_uuid),
    };
    let v = state
        .registry
        .create_version(&auth.0, ArtifactId::from_uuid(*path), req)
        .await?;
    created(&VersionDto::new(v, vec![]))
}

pub async fn list_versions(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
    q: Query<VersionQuery>,
) -> ApiResult<HttpResponse> {
    let (filter, sort, req) = q.into_inner().into_parts()?;
    let p = state
        .registry
        .list_versions(&auth.0, ArtifactId::from_uuid(*path), &filter, &sort, req)
        .await?;
    ok(&page(p, VersionDto::from, sort_key_cursor))
}

pub async fn get_version(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let req = q.request(|s| FilePath::parse(s).ok())?;
    let v = state
        .registry
        .get_version_with_files(&auth.0, VersionId::from_uuid(*path), req)
        .await?;
    ok(&VersionWithFilesDto {
        next_files_cursor: v.files.next.as_ref().map(|p| encode_cursor(p.as_str())),
        files: v.files.items.into_iter().map(FileDto::from).collect(),
        version: v.version.into(),
    })
}

pub async fn update_version(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
    body: Json<PatchDto>,
) -> ApiResult<HttpResponse> {
    let patch = body.into_inner().into_patch()?;
    let id = VersionId::from_uuid(*path);
    state.registry.update_version(&auth.0, id, patch).await?;
    ok(&VersionDto::from(
        state.registry.get_version(&auth.0, id).await?,
    ))
}

pub async fn delete_version(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .registry
        .delete_version(&auth.0, VersionId::from_uuid(*path))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn finalize_version(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = VersionId::from_uuid(*path);
    state.registry.finalize_version(&auth.0, id).await?;
    ok(&VersionDto::from(
        state.registry.get_version(&auth.0, id).await?,
    ))
}

pub async fn diff(
    state: State,
    auth: Auth,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (a, b) = path.into_inner();
    ok(&state
        .registry
        .diff_versions(&auth.0, VersionId::from_uuid(a), VersionId::from_uuid(b))
        .await?)
}

pub async fn lineage(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
    q: web::Query<LineageQuery>,
) -> ApiResult<HttpResponse> {
    ok(&state
        .registry
        .lineage(&auth.0, VersionId::from_uuid(*path), q.depth.unwrap_or(3))
        .await?)
}

pub async fn download_stats(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    ok(&state
        .registry
        .download_stats(&auth.0, VersionId::from_uuid(*path))
        .await?)
}

pub async fn record_download(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let d: Download = state
        .registry
        .record_version_download(&auth.0, VersionId::from_uuid(*path))
        .await?;
    created(&d)
}

// ------------------------------------------------------------------ files

pub async fn upload_url(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
    body: Json<FileSpecDto>,
) -> ApiResult<HttpResponse> {
    let spec = body.into_inner().into_spec()?;
    let plan = state
        .registry
        .negotiate_upload(&auth.0, VersionId::from_uuid(*path), spec)
        .await?;
    ok(&UploadUrlDto::from(plan))
}

pub async fn upload_urls(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
    body: Json<FileBatchDto>,
) -> ApiResult<HttpResponse> {
    let specs = body.into_inner().into_specs()?;
    let plans = state
        .registry
        .negotiate_uploads(&auth.0, VersionId::from_uuid(*path), specs)
        .await?;
    ok(
        &serde_json::json!({ "files": plans.into_iter().map(UploadUrlDto::from).collect::<Vec<_>>() }),
    )
}

pub async fn register_file(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
    body: Json<FileSpecDto>,
) -> ApiResult<HttpResponse> {
    let spec = body.into_inner().into_spec()?;
    let file = state
        .registry
        .register_file(&auth.0, VersionId::from_uuid(*path), spec)
        .await?;
    created(&FileDto::from(file))
}

pub async fn register_files(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
    body: Json<FileBatchDto>,
) -> ApiResult<HttpResponse> {
    let specs = body.into_inner().into_specs()?;
    let files = state
        .registry
        .register_files(&auth.0, VersionId::from_uuid(*path), specs)
        .await?;
    created(
        &serde_json::json!({ "files": files.into_iter().map(FileDto::from).collect::<Vec<_>>() }),
    )
}

pub async fn list_files(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
    q: web::Query<ListFilesQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let version = VersionId::from_uuid(*path);
    match q.delimiter.as_deref() {
        None => {
            let files = FilesQuery {
                prefix: q.prefix,
                limit: q.limit,
                cursor: q.cursor,
            };
            let p = state
                .registry
                .list_files(
                    &auth.0,
                    version,
                    files.prefix.as_deref(),
                    files.page_request()?,
                )
                .await?;
            ok(&page(p, FileDto::from, |k| k.to_string()))
        }
        Some("/") => {
            let req = PageQuery {
                limit: q.limit,
                cursor: q.cursor,
            }
            .request(|s| Some(s.to_owned()))?;
            let folder = q.prefix.unwrap_or_default();
            let p = state
                .registry
                .list_folder(&auth.0, version, &folder, req)
                .await?;
            ok(&page(p, FolderEntryDto::from, String::clone))
        }
        Some(other) => Err(ApiError::invalid(format!(
            "delimiter: only \"/\" is supported, got {other:?}"
        ))),
    }
}

/// The request body as a `Send` stream: actix's payload lives on its worker thread, so a local
/// task forwards it through a small bounded channel (which also gives backpressure).
fn body_stream(mut payload: web::Payload) -> ByteStream {
    use futures::SinkExt;
    let (mut tx, rx) = futures::channel::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    actix_web::rt::spawn(async move {
        while let Some(chunk) = payload.next().await {
            let item = chunk.map_err(|e| std::io::Error::other(e.to_string()));
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    });
    Box::pin(rx)
}

/// Streams a file's bytes through the server into the store, verified as they arrive.
pub async fn upload_content(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
    q: web::Query<UploadQuery>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let spec = FileSpecDto::of(q.path, q.size, q.md5_hash, q.sha256_hash).into_spec()?;
    let key = state
        .registry
        .upload_bytes(
            &auth.0,
            VersionId::from_uuid(*path),
            &spec,
            body_stream(payload),
        )
        .await?;
    created(
        &serde_json::json!({ "storage_key": key, "sha256_hash": spec.sha256, "size": spec.size }),
    )
}

pub async fn multipart_parts(
    state: State,
    auth: Auth,
    path: web::Path<(Uuid, String)>,
    q: web::Query<Sha256Query>,
) -> ApiResult<HttpResponse> {
    let (version, upload) = path.into_inner();
    let sha = valid(Sha256::parse(q.into_inner().sha256_hash))?;
    ok(&state
        .registry
        .multipart_parts(&auth.0, VersionId::from_uuid(version), &sha, &upload)
        .await?)
}

pub async fn multipart_part_urls(
    state: State,
    auth: Auth,
    path: web::Path<(Uuid, String)>,
    body: Json<PartUrlsDto>,
) -> ApiResult<HttpResponse> {
    let (version, upload) = path.into_inner();
    let b = body.into_inner();
    let spec = b.file.into_spec()?;
    let plan = state
        .registry
        .multipart_part_urls(
            &auth.0,
            VersionId::from_uuid(version),
            &spec,
            &upload,
            &b.parts,
        )
        .await?;
    ok(&MultipartDto::from(plan))
}

pub async fn multipart_complete(
    state: State,
    auth: Auth,
    path: web::Path<(Uuid, String)>,
    body: Json<CompleteDto>,
) -> ApiResult<HttpResponse> {
    let (version, upload) = path.into_inner();
    let b = body.into_inner();
    let spec = b.file.into_spec()?;
    let parts: Vec<wanllmdb_domain::ports::CompletedPart> = b
        .parts
        .into_iter()
        .map(|p| wanllmdb_domain::ports::CompletedPart {
            part_number: p.part_number,
            etag: p.etag,
        })
        .collect();
    let key = state
        .registry
        .complete_multipart(
            &auth.0,
            VersionId::from_uuid(version),
            &spec,
            &upload,
            &parts,
        )
        .await?;
    ok(&serde_json::json!({ "storage_key": key, "sha256_hash": spec.sha256, "size": spec.size }))
}

pub async fn multipart_abort(
    state: State,
    auth: Auth,
    path: web::Path<(Uuid, String)>,
    q: web::Query<Sha256Query>,
) -> ApiResult<HttpResponse> {
    let (version, upload) = path.into_inner();
    let sha = valid(Sha256::parse(q.into_inner().sha256_hash))?;
    state
        .registry
        .abort_multipart(&auth.0, VersionId::from_uuid(version), &sha, &upload)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn download_url(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let t = state
        .registry
        .download_file(&auth.0, FileId::from_uuid(*path))
        .await?;
    ok(&DownloadUrlDto::from(t))
}

pub async fn download_urls(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
    body: Json<FilesQuery>,
) -> ApiResult<HttpResponse> {
    let (q, req) = (&body, body.page_request()?);
    let p = state
        .registry
        .download_files(
            &auth.0,
            VersionId::from_uuid(*path),
            q.prefix.as_deref(),
            req,
        )
        .await?;
    ok(&page(p, DownloadUrlDto::from, |k| k.to_string()))
}

/// A file's bytes through the server, whole or a `Range`.
pub async fn download_content(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let range = parse_range(&req)?;
    let (file, read) = state
        .registry
        .read_file(&auth.0, FileId::from_uuid(*path), range)
        .await?;
    Ok(stream_response(
        read,
        range.is_some(),
        Some(file.name()),
        Some(file.content_type.as_str()),
    ))
}

pub async fn delete_file(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .registry
        .delete_file(&auth.0, FileId::from_uuid(*path))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ------------------------------------------------------------------ signed URLs (filesystem store)

pub async fn signed(
    state: State,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let server = state.signed.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "route_not_found",
            "this store hands out its own URLs",
        )
    })?;
    let range = parse_range(&req)?;
    let url = req.uri().to_string();
    match server
        .serve_signed(req.method().as_str(), &url, body_stream(payload), range)
        .await?
    {
        SignedServe::Stored { etag } => Ok(HttpResponse::Ok()
            .insert_header((header::ETAG, etag))
            .finish()),
        SignedServe::Read { result, filename } => Ok(stream_response(
            result,
            range.is_some(),
            filename.as_deref(),
            None,
        )),
    }
}

/// Parses `Range: bytes=a-b`, `bytes=a-` or `bytes=-n` (one range).
fn parse_range(req: &HttpRequest) -> ApiResult<Option<ByteRange>> {
    let Some(value) = req.headers().get(header::RANGE) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "invalid_range",
            "use one range: bytes=START-END, bytes=START- or bytes=-N",
        )
    };
    let spec = value
        .to_str()
        .map_err(|_| bad())?
        .strip_prefix("bytes=")
        .ok_or_else(bad)?;
    if spec.contains(',') {
        return Err(bad());
    }
    let (a, b) = spec.split_once('-').ok_or_else(bad)?;
    let num = |s: &str| s.trim().parse::<u64>().map_err(|_| bad());
    Ok(Some(match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, false) => ByteRange::Suffix(num(b)?),
        (false, true) => ByteRange::From {
            start: num(a)?,
            end: None,
        },
        (false, false) => ByteRange::From {
            start: num(a)?,
            end: Some(num(b)?),
        },
        (true, true) => return Err(bad()),
    }))
}

fn stream_response(
    read: wanllmdb_domain::ports::GetResult,
    partial: bool,
    filename: Option<&str>,
    content_type: Option<&str>,
) -> HttpResponse {
    let (start, end) = read.range;
    let mut resp = if partial {
        HttpResponse::PartialContent()
    } else {
        HttpResponse::Ok()
    };
    resp.insert_header((header::ACCEPT_RANGES, "bytes"));
    resp.insert_header((
        header::CONTENT_TYPE,
        content_type.unwrap_or("application/octet-stream"),
    ));
    if partial {
        resp.insert_header((
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{}", end.saturating_sub(1), read.meta.size),
        ));
    }
    if let Some(name) = filename {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        resp.insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{safe}\""),
        ));
    }
    resp.no_chunking(end - start);
    resp.streaming(read.body)
}

// ------------------------------------------------------------------ aliases and references

pub async fn list_aliases(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let aliases = state
        .registry
        .list_aliases(&auth.0, ArtifactId::from_uuid(*path))
        .await?;
    ok(&aliases.into_iter().map(AliasDto::from).collect::<Vec<_>>())
}

pub async fn set_alias(
    state: State,
    auth: Auth,
    path: web::Path<(Uuid, String)>,
    body: Json<SetAliasDto>,
) -> ApiResult<HttpResponse> {
    let (artifact, alias) = path.into_inner();
    let alias = valid(AliasName::parse(alias))?;
    let target = match (&body.version, body.version_id) {
        (Some(v), None) => VersionTarget::Index(
            VersionIndex::parse_label(v)
                .ok_or_else(|| ApiError::invalid(format!("invalid version: {v:?} is not v<N>")))?,
        ),
        (None, Some(id)) => VersionTarget::Id(VersionId::from_uuid(id)),
        _ => {
            return Err(ApiError::invalid(
                "give exactly one of version (\"v3\") and version_id",
            ))
        }
    };
    let (a, _) = state
        .registry
        .set_alias(&auth.0, ArtifactId::from_uuid(artifact), &alias, target)
        .await?;
    ok(&AliasDto::from(a))
}

pub async fn remove_alias(
    state: State,
    auth: Auth,
    path: web::Path<(Uuid, String)>,
) -> ApiResult<HttpResponse> {
    let (artifact, alias) = path.into_inner();
    let alias = valid(AliasName::parse(alias))?;
    state
        .registry
        .remove_alias(&auth.0, ArtifactId::from_uuid(artifact), &alias)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn alias_history(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
    q: web::Query<AliasHistoryQuery>,
) -> ApiResult<HttpResponse> {
    let alias = q
        .into_inner()
        .alias
        .map(AliasName::parse)
        .transpose()
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    ok(&state
        .registry
        .alias_history(&auth.0, ArtifactId::from_uuid(*path), alias.as_ref())
        .await?)
}

pub async fn resolve(
    state: State,
    auth: Auth,
    q: web::Query<ResolveQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let r: ArtifactRef = valid(q.reference.parse())?;
    let (a, v) = state
        .registry
        .use_artifact(
            &auth.0,
            &r,
            q.project_id.map(ProjectId::from_uuid),
            q.run_id.map(RunId::from_uuid),
        )
        .await?;
    let view = state.registry.get_version(&auth.0, v.id).await?;
    ok(&serde_json::json!({ "artifact": ArtifactDto::from(a), "version": VersionDto::from(view) }))
}

// ------------------------------------------------------------------ runs

pub async fn create_run(
    state: State,
    auth: Auth,
    body: Json<CreateRunDto>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let run = state
        .registry
        .create_run(
            &auth.0,
            ProjectId::from_uuid(b.project_id),
            valid(RunName::parse(b.name))?,
            metadata(b.metadata)?,
        )
        .await?;
    created(&run)
}

pub async fn list_runs(
    state: State,
    auth: Auth,
    q: web::Query<RunsQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let req = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .request(|s| s.parse::<RunId>().ok())?;
    let p = state
        .registry
        .list_runs(&auth.0, ProjectId::from_uuid(q.project_id), req)
        .await?;
    ok(&page(p, |r| r, |k| k.to_string()))
}

pub async fn get_run(state: State, auth: Auth, path: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    ok(&state
        .registry
        .get_run(&auth.0, RunId::from_uuid(*path))
        .await?)
}

pub async fn run_input(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
    body: Json<VersionRefDto>,
) -> ApiResult<HttpResponse> {
    state
        .registry
        .mark_used(
            &auth.0,
            RunId::from_uuid(*path),
            VersionId::from_uuid(body.version_id),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn run_output(
    state: State,
    auth: Auth,
    path: web::Path<Uuid>,
    body: Json<VersionRefDto>,
) -> ApiResult<HttpResponse> {
    let v = state
        .registry
        .mark_produced(
            &auth.0,
            RunId::from_uuid(*path),
            VersionId::from_uuid(body.version_id),
        )
        .await?;
    ok(&VersionDto::new(v, vec![]))
}

// ------------------------------------------------------------------ administration

pub async fn collect_garbage(
    state: State,
    auth: Auth,
    body: Json<GcDto>,
) -> ApiResult<HttpResponse> {
    let report = state
        .registry
        .collect_garbage(
            &auth.0,
            GcOptions {
                grace: std::time::Duration::from_secs(body.grace_seconds),
                stale_after: std::time::Duration::from_secs(body.stale_after_seconds),
                dry_run: body.dry_run,
            },
        )
        .await?;
    ok(&report)
}
