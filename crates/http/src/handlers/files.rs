//! Files of a draft: upload negotiation, bytes through the server, registration, listings.

use super::prelude::*;

#[utoipa::path(
    post,
    path = "/api/v1/artifacts/versions/{version_id}/files/upload-url",
    tag = "files",
    summary = "Negotiate one file's upload: already stored, or a presigned PUT.",
    params(("version_id" = Uuid, Path, description = "A version's id.")),
    request_body = FileSpecDto,
    responses(
        (status = 200, description = "Success.", body = UploadUrlDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Forbidden,
        problems::NotFound,
        problems::Conflict,
        problems::TooLarge,
        problems::NotJson,
        problems::Invalid,
        problems::Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn upload_url(
    state: State,
    auth: Auth,
    path: web::Path<VersionId>,
    body: Json<FileSpecDto>,
) -> ApiResult<HttpResponse> {
    let spec = body.into_inner().into_spec()?;
    let plan = state
        .registry
        .negotiate_upload(&auth.0, *path, spec)
        .await?;
    ok(&UploadUrlDto::from(plan))
}

#[utoipa::path(
    post,
    path = "/api/v1/artifacts/versions/{version_id}/files/upload-urls",
    tag = "files",
    summary = "Negotiate up to 10,000 files' uploads.",
    params(("version_id" = Uuid, Path, description = "A version's id.")),
    request_body = FileBatchDto,
    responses(
        (status = 200, description = "Success.", body = UploadUrlsDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Forbidden,
        problems::NotFound,
        problems::Conflict,
        problems::TooLarge,
        problems::NotJson,
        problems::Invalid,
        problems::Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn upload_urls(
    state: State,
    auth: Auth,
    path: web::Path<VersionId>,
    body: Json<FileBatchDto>,
) -> ApiResult<HttpResponse> {
    let specs = body.into_inner().into_specs()?;
    let plans = state
        .registry
        .negotiate_uploads(&auth.0, *path, specs)
        .await?;
    ok(&UploadUrlsDto {
        files: plans.into_iter().map(UploadUrlDto::from).collect(),
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/artifacts/versions/{version_id}/files",
    tag = "files",
    summary = "Register an uploaded file.",
    params(("version_id" = Uuid, Path, description = "A version's id.")),
    request_body = FileSpecDto,
    responses(
        (status = 201, description = "Success.", body = FileDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Forbidden,
        problems::NotFound,
        problems::Conflict,
        problems::BytesMismatch,
        problems::TooLarge,
        problems::NotJson,
        problems::Invalid,
        problems::Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn register_file(
    state: State,
    auth: Auth,
    path: web::Path<VersionId>,
    body: Json<FileSpecDto>,
) -> ApiResult<HttpResponse> {
    let spec = body.into_inner().into_spec()?;
    let file = state.registry.register_file(&auth.0, *path, spec).await?;
    created(&FileDto::from(file))
}

#[utoipa::path(
    post,
    path = "/api/v1/artifacts/versions/{version_id}/files/batch",
    tag = "files",
    summary = "Register up to 10,000 uploaded files.",
    params(("version_id" = Uuid, Path, description = "A version's id.")),
    request_body = FileBatchDto,
    responses(
        (status = 201, description = "Success.", body = FilesDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Forbidden,
        problems::NotFound,
        problems::Conflict,
        problems::BytesMismatch,
        problems::TooLarge,
        problems::NotJson,
        problems::Invalid,
        problems::Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn register_files(
    state: State,
    auth: Auth,
    path: web::Path<VersionId>,
    body: Json<FileBatchDto>,
) -> ApiResult<HttpResponse> {
    let specs = body.into_inner().into_specs()?;
    let files = state.registry.register_files(&auth.0, *path, specs).await?;
    created(&FilesDto {
        files: files.into_iter().map(FileDto::from).collect(),
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/artifacts/versions/{version_id}/files",
    tag = "files",
    summary = "List a version's files by path (prefix, pages); with delimiter=/ the files and folders (with totals) directly in the folder prefix.",
    params(("version_id" = Uuid, Path, description = "A version's id."), ListFilesQuery),
    responses(
        (status = 200, description = "Success.", body = PageDto<FolderEntryDto>),
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
pub async fn list_files(
    state: State,
    auth: Auth,
    path: web::Path<VersionId>,
    q: web::Query<ListFilesQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let version = *path;
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
            ok(&page(
                p,
                |f| FolderEntryDto::File(f.into()),
                |k| k.to_string(),
            ))
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

#[utoipa::path(
    put,
    path = "/api/v1/artifacts/versions/{version_id}/files/content",
    tag = "files",
    summary = "Stream a file's bytes through the server, verified as they arrive.",
    params(("version_id" = Uuid, Path, description = "A version's id."), UploadQuery),
    request_body(content = Binary, content_type = "application/octet-stream"),
    responses(
        (status = 201, description = "Success.", body = StoredDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Forbidden,
        problems::NotFound,
        problems::Conflict,
        problems::TooLarge,
        problems::Invalid,
        problems::Unavailable,
        problems::OutOfSpace,
    ),
    security(("bearer" = [])),
)]
/// Streams a file's bytes through the server into the store, verified as they arrive.
pub async fn upload_content(
    state: State,
    auth: Auth,
    path: web::Path<VersionId>,
    q: web::Query<UploadQuery>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let spec = FileSpecDto::of(q.path, q.size, Some(q.md5_hash), q.sha256_hash).into_spec()?;
    let key = state
        .registry
        .upload_bytes(&auth.0, *path, &spec, body_stream(payload))
        .await?;
    created(&stored(key, &spec))
}

#[utoipa::path(
    delete,
    path = "/api/v1/artifacts/files/{file_id}",
    tag = "files",
    summary = "Remove a file from a draft version.",
    params(("file_id" = Uuid, Path, description = "A file's id.")),
    responses(
        (status = 204, description = "Done; no body."),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Forbidden,
        problems::NotFound,
        problems::Conflict,
    ),
    security(("bearer" = [])),
)]
pub async fn delete_file(
    state: State,
    auth: Auth,
    path: web::Path<FileId>,
) -> ApiResult<HttpResponse> {
    state.registry.delete_file(&auth.0, *path).await?;
    Ok(HttpResponse::NoContent().finish())
}
