//! Versions: create, list, get, update, delete, finalize, compare.

use super::prelude::*;

#[utoipa::path(
    post,
    path = "/api/v1/artifacts/{artifact_id}/versions",
    tag = "versions",
    summary = "Create the next version (v0, v1, ...) as a draft.",
    params(("artifact_id" = Uuid, Path, description = "An artifact's id.")),
    request_body = CreateVersionDto,
    responses(
        (status = 201, description = "Success.", body = VersionDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Forbidden,
        problems::NotFound,
        problems::TooLarge,
        problems::NotJson,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
pub async fn create_version(
    state: State,
    auth: Auth,
    path: web::Path<ArtifactId>,
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
        .create_version(&auth.0, *path, req)
        .await
        .map_err(|e| referenced(e, wanllmdb_domain::error::Entity::Run, "run_id"))?;
    created(&VersionDto::new(v, vec![]))
}

#[utoipa::path(
    get,
    path = "/api/v1/artifacts/{artifact_id}/versions",
    tag = "versions",
    summary = "List versions: alias, finalized, run_id, metadata filter, sort (index, created_at, total_size, metadata.<key>); pages.",
    params(("artifact_id" = Uuid, Path, description = "An artifact's id."), VersionQuery),
    responses(
        (status = 200, description = "Success.", body = PageDto<VersionDto>),
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
pub async fn list_versions(
    state: State,
    auth: Auth,
    path: web::Path<ArtifactId>,
    q: Query<VersionQuery>,
) -> ApiResult<HttpResponse> {
    let (filter, sort, req) = q.into_inner().into_parts()?;
    let p = state
        .registry
        .list_versions(&auth.0, *path, &filter, &sort, req)
        .await?;
    ok(&page(p, VersionDto::from, sort_key_cursor))
}

#[utoipa::path(
    get,
    path = "/api/v1/artifacts/versions/{version_id}",
    tag = "versions",
    summary = "Get a version with a page of its files.",
    params(("version_id" = Uuid, Path, description = "A version's id."), PageQuery),
    responses(
        (status = 200, description = "Success.", body = VersionWithFilesDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
pub async fn get_version(
    state: State,
    auth: Auth,
    path: web::Path<VersionId>,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let req = q.request(|s| FilePath::parse(s).ok())?;
    let v = state
        .registry
        .get_version_with_files(&auth.0, *path, req)
        .await?;
    ok(&VersionWithFilesDto {
        next_files_cursor: v.files.next.as_ref().map(|p| encode_cursor(p.as_str())),
        files: v.files.items.into_iter().map(FileDto::from).collect(),
        version: v.version.into(),
    })
}

#[utoipa::path(
    put,
    path = "/api/v1/artifacts/versions/{version_id}",
    tag = "versions",
    summary = "Update a version's description or metadata.",
    params(("version_id" = Uuid, Path, description = "A version's id.")),
    request_body = PatchDto,
    responses(
        (status = 200, description = "Success.", body = VersionDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Forbidden,
        problems::NotFound,
        problems::TooLarge,
        problems::NotJson,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
pub async fn update_version(
    state: State,
    auth: Auth,
    path: web::Path<VersionId>,
    body: Json<PatchDto>,
) -> ApiResult<HttpResponse> {
    let patch = body.into_inner().into_patch()?;
    let id = *path;
    state.registry.update_version(&auth.0, id, patch).await?;
    ok(&VersionDto::from(
        state.registry.get_version(&auth.0, id).await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/artifacts/versions/{version_id}",
    tag = "versions",
    summary = "Delete a version.",
    params(("version_id" = Uuid, Path, description = "A version's id.")),
    responses(
        (status = 204, description = "Done; no body."),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Forbidden,
        problems::NotFound,
    ),
    security(("bearer" = [])),
)]
pub async fn delete_version(
    state: State,
    auth: Auth,
    path: web::Path<VersionId>,
) -> ApiResult<HttpResponse> {
    state.registry.delete_version(&auth.0, *path).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    post,
    path = "/api/v1/artifacts/versions/{version_id}/finalize",
    tag = "versions",
    summary = "Finalize: check every file's bytes, compute the digest, freeze, move latest.",
    params(("version_id" = Uuid, Path, description = "A version's id.")),
    responses(
        (status = 200, description = "Success.", body = VersionDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Forbidden,
        problems::NotFound,
        problems::Conflict,
        problems::BytesMismatch,
        problems::Unavailable,
    ),
    security(("bearer" = [])),
)]
pub async fn finalize_version(
    state: State,
    auth: Auth,
    path: web::Path<VersionId>,
) -> ApiResult<HttpResponse> {
    let id = *path;
    state.registry.finalize_version(&auth.0, id).await?;
    ok(&VersionDto::from(
        state.registry.get_version(&auth.0, id).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/artifacts/versions/{version_id}/diff/{other_id}",
    tag = "versions",
    summary = "How another version differs from this one.",
    params(("version_id" = Uuid, Path, description = "A version's id."), ("other_id" = Uuid, Path, description = "The version to compare with."), DiffQuery),
    responses(
        (status = 200, description = "Success.", body = VersionDiffDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
pub async fn diff(
    state: State,
    auth: Auth,
    path: web::Path<(VersionId, VersionId)>,
    q: web::Query<DiffQuery>,
) -> ApiResult<HttpResponse> {
    let (a, b) = path.into_inner();
    let q = q.into_inner();
    let page = wanllmdb_domain::service::DiffPage {
        after: q.cursor.map(|c| valid(FilePath::parse(c))).transpose()?,
        limit: q
            .limit
            .map_or(wanllmdb_domain::manifest::MAX_DIFF_FILES, |l| l as usize),
    };
    let d = state.registry.diff_versions(&auth.0, a, b, page).await?;
    ok(&VersionDiffDto::from(d))
}
