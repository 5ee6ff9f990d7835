//! Artifacts: create, search, get, update, delete.

use super::prelude::*;

#[utoipa::path(
    post,
    path = "/api/v1/artifacts",
    tag = "artifacts",
    summary = "Create an artifact.",
    request_body = CreateArtifactDto,
    responses(
        (status = 201, description = "Success.", body = ArtifactDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Forbidden,
        problems::NotFound,
        problems::Conflict,
        problems::TooLarge,
        problems::NotJson,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/artifacts",
    tag = "artifacts",
    summary = "Search artifacts: q, type (several), name, alias, created_by, metadata filter, sort; pages.",
    params(ArtifactQuery),
    responses(
        (status = 200, description = "Success.", body = PageDto<ArtifactDto>),
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/artifacts/{artifact_id}",
    tag = "artifacts",
    summary = "Get an artifact.",
    params(("artifact_id" = Uuid, Path, description = "An artifact's id.")),
    responses(
        (status = 200, description = "Success.", body = ArtifactDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
    ),
    security(("bearer" = [])),
)]
pub async fn get_artifact(
    state: State,
    auth: Auth,
    path: web::Path<ArtifactId>,
) -> ApiResult<HttpResponse> {
    ok(&ArtifactDto::from(
        state.registry.get_artifact(&auth.0, *path).await?,
    ))
}

#[utoipa::path(
    put,
    path = "/api/v1/artifacts/{artifact_id}",
    tag = "artifacts",
    summary = "Update an artifact's description or metadata.",
    params(("artifact_id" = Uuid, Path, description = "An artifact's id.")),
    request_body = PatchDto,
    responses(
        (status = 200, description = "Success.", body = ArtifactDto),
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
pub async fn update_artifact(
    state: State,
    auth: Auth,
    path: web::Path<ArtifactId>,
    body: Json<PatchDto>,
) -> ApiResult<HttpResponse> {
    let patch = body.into_inner().into_patch()?;
    ok(&ArtifactDto::from(
        state
            .registry
            .update_artifact(&auth.0, *path, patch)
            .await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/api/v1/artifacts/{artifact_id}",
    tag = "artifacts",
    summary = "Delete an artifact with all its versions.",
    params(("artifact_id" = Uuid, Path, description = "An artifact's id.")),
    responses(
        (status = 204, description = "Done; no body."),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Forbidden,
        problems::NotFound,
    ),
    security(("bearer" = [])),
)]
pub async fn delete_artifact(
    state: State,
    auth: Auth,
    path: web::Path<ArtifactId>,
) -> ApiResult<HttpResponse> {
    state.registry.delete_artifact(&auth.0, *path).await?;
    Ok(HttpResponse::NoContent().finish())
}
