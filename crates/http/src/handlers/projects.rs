//! Projects and their members.

use super::prelude::*;

#[utoipa::path(
    post,
    path = "/api/v1/projects",
    tag = "projects",
    summary = "Create a project; the caller becomes its admin.",
    request_body = CreateProjectDto,
    responses(
        (status = 201, description = "Success.", body = ProjectDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Conflict,
        problems::TooLarge,
        problems::NotJson,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
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
    created(&ProjectDto::from(project))
}

#[utoipa::path(
    get,
    path = "/api/v1/projects",
    tag = "projects",
    summary = "List the projects the caller can see.",
    params(PageQuery),
    responses(
        (status = 200, description = "Success.", body = PageDto<ProjectDto>),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
pub async fn list_projects(
    state: State,
    auth: Auth,
    q: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let req = q.request(|s| ProjectName::parse(s).ok())?;
    let p = state.registry.list_projects(&auth.0, req).await?;
    ok(&page(
        p,
        |(p, n)| ProjectDto::counted(p, n),
        |k| k.to_string(),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}",
    tag = "projects",
    summary = "Get a project.",
    params(("project_id" = Uuid, Path, description = "A project's id.")),
    responses(
        (status = 200, description = "Success.", body = ProjectDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
    ),
    security(("bearer" = [])),
)]
pub async fn get_project(
    state: State,
    auth: Auth,
    path: web::Path<ProjectId>,
) -> ApiResult<HttpResponse> {
    let (p, n) = state.registry.get_project_counted(&auth.0, *path).await?;
    ok(&ProjectDto::counted(p, n))
}

#[utoipa::path(
    delete,
    path = "/api/v1/projects/{project_id}",
    tag = "projects",
    summary = "Delete a project and everything in it.",
    params(("project_id" = Uuid, Path, description = "A project's id.")),
    responses(
        (status = 204, description = "Done; no body."),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Forbidden,
        problems::NotFound,
    ),
    security(("bearer" = [])),
)]
pub async fn delete_project(
    state: State,
    auth: Auth,
    path: web::Path<ProjectId>,
) -> ApiResult<HttpResponse> {
    state.registry.delete_project(&auth.0, *path).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    get,
    path = "/api/v1/projects/{project_id}/members",
    tag = "projects",
    summary = "List a project's members.",
    params(("project_id" = Uuid, Path, description = "A project's id.")),
    responses(
        (status = 200, description = "Success.", body = Vec<MembershipDto>),
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
    ),
    security(("bearer" = [])),
)]
pub async fn list_members(
    state: State,
    auth: Auth,
    path: web::Path<ProjectId>,
) -> ApiResult<HttpResponse> {
    let members = state.registry.list_members(&auth.0, *path).await?;
    ok(&members
        .into_iter()
        .map(MembershipDto::from)
        .collect::<Vec<_>>())
}

#[utoipa::path(
    put,
    path = "/api/v1/projects/{project_id}/members/{user_id}",
    tag = "projects",
    summary = "Give a user a role: viewer, editor, admin.",
    params(("project_id" = Uuid, Path, description = "A project's id."), ("user_id" = Uuid, Path, description = "A user's id.")),
    request_body = MemberDto,
    responses(
        (status = 200, description = "Success.", body = MembershipDto),
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
pub async fn set_member(
    state: State,
    auth: Auth,
    path: web::Path<(ProjectId, UserId)>,
    body: Json<MemberDto>,
) -> ApiResult<HttpResponse> {
    let (project, user) = path.into_inner();
    let role: Role = valid(body.role.parse())?;
    let m = state
        .registry
        .set_member(&auth.0, project, user, role)
        .await?;
    ok(&MembershipDto::from(m))
}

#[utoipa::path(
    delete,
    path = "/api/v1/projects/{project_id}/members/{user_id}",
    tag = "projects",
    summary = "Remove a member.",
    params(("project_id" = Uuid, Path, description = "A project's id."), ("user_id" = Uuid, Path, description = "A user's id.")),
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
pub async fn remove_member(
    state: State,
    auth: Auth,
    path: web::Path<(ProjectId, UserId)>,
) -> ApiResult<HttpResponse> {
    let (project, user) = path.into_inner();
    state.registry.remove_member(&auth.0, project, user).await?;
    Ok(HttpResponse::NoContent().finish())
}
