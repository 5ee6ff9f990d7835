//! Runs and lineage.

use super::prelude::*;

#[utoipa::path(
    get,
    path = "/api/v1/artifacts/versions/{version_id}/lineage",
    tag = "runs",
    summary = "Producer, inputs and consumers of a version, to a depth.",
    params(("version_id" = Uuid, Path, description = "A version's id."), LineageQuery),
    responses(
        (status = 200, description = "Success.", body = LineageDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
pub async fn lineage(
    state: State,
    auth: Auth,
    path: web::Path<VersionId>,
    q: web::Query<LineageQuery>,
) -> ApiResult<HttpResponse> {
    let l = state
        .registry
        .lineage(&auth.0, *path, q.depth.unwrap_or(3))
        .await?;
    ok(&LineageDto::from(l))
}

#[utoipa::path(
    post,
    path = "/api/v1/runs",
    tag = "runs",
    summary = "Create a run.",
    request_body = CreateRunDto,
    responses(
        (status = 201, description = "Success.", body = RunDto),
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
    created(&RunDto::from(run))
}

#[utoipa::path(
    get,
    path = "/api/v1/runs",
    tag = "runs",
    summary = "List a project's runs.",
    params(RunsQuery),
    responses(
        (status = 200, description = "Success.", body = PageDto<RunDto>),
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
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
    ok(&page(p, RunDto::from, |k| k.to_string()))
}

#[utoipa::path(
    get,
    path = "/api/v1/runs/{run_id}",
    tag = "runs",
    summary = "Get a run.",
    params(("run_id" = Uuid, Path, description = "A run's id.")),
    responses(
        (status = 200, description = "Success.", body = RunDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
    ),
    security(("bearer" = [])),
)]
pub async fn get_run(state: State, auth: Auth, path: web::Path<RunId>) -> ApiResult<HttpResponse> {
    let run = state.registry.get_run(&auth.0, *path).await?;
    ok(&RunDto::from(run))
}

#[utoipa::path(
    post,
    path = "/api/v1/runs/{run_id}/inputs",
    tag = "runs",
    summary = "Record that a run used a version.",
    params(("run_id" = Uuid, Path, description = "A run's id.")),
    request_body = VersionRefDto,
    responses(
        (status = 204, description = "Done; no body."),
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
pub async fn run_input(
    state: State,
    auth: Auth,
    path: web::Path<RunId>,
    body: Json<VersionRefDto>,
) -> ApiResult<HttpResponse> {
    state
        .registry
        .mark_used(&auth.0, *path, VersionId::from_uuid(body.version_id))
        .await
        .map_err(|e| referenced(e, wanllmdb_domain::error::Entity::Version, "version_id"))?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    post,
    path = "/api/v1/runs/{run_id}/outputs",
    tag = "runs",
    summary = "Record that a run produced a (draft) version.",
    params(("run_id" = Uuid, Path, description = "A run's id.")),
    request_body = VersionRefDto,
    responses(
        (status = 200, description = "Success.", body = VersionDto),
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
pub async fn run_output(
    state: State,
    auth: Auth,
    path: web::Path<RunId>,
    body: Json<VersionRefDto>,
) -> ApiResult<HttpResponse> {
    let v = state
        .registry
        .mark_produced(&auth.0, *path, VersionId::from_uuid(body.version_id))
        .await
        .map_err(|e| referenced(e, wanllmdb_domain::error::Entity::Version, "version_id"))?;
    ok(&VersionDto::new(v, vec![]))
}
