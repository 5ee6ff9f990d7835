//! Aliases, their history, and resolving references.

use super::prelude::*;

#[utoipa::path(
    get,
    path = "/api/v1/artifacts/{artifact_id}/aliases",
    tag = "aliases",
    summary = "List aliases.",
    params(("artifact_id" = Uuid, Path, description = "An artifact's id.")),
    responses(
        (status = 200, description = "Success.", body = Vec<AliasDto>),
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
    ),
    security(("bearer" = [])),
)]
pub async fn list_aliases(
    state: State,
    auth: Auth,
    path: web::Path<ArtifactId>,
) -> ApiResult<HttpResponse> {
    let aliases = state.registry.list_aliases(&auth.0, *path).await?;
    ok(&aliases.into_iter().map(AliasDto::from).collect::<Vec<_>>())
}

#[utoipa::path(
    put,
    path = "/api/v1/artifacts/{artifact_id}/aliases/{alias}",
    tag = "aliases",
    summary = "Point an alias at a finalized version.",
    params(("artifact_id" = Uuid, Path, description = "An artifact's id."), ("alias" = String, Path, description = "The alias, e.g. best.", pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")),
    request_body = SetAliasDto,
    responses(
        (status = 200, description = "Success.", body = AliasDto),
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
pub async fn set_alias(
    state: State,
    auth: Auth,
    path: web::Path<(ArtifactId, String)>,
    body: Json<SetAliasDto>,
) -> ApiResult<HttpResponse> {
    let (artifact, alias) = path.into_inner();
    let alias = valid(AliasName::parse(alias))?;
    let field = if body.version_id.is_some() {
        "version_id"
    } else {
        "version"
    };
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
        .set_alias(&auth.0, artifact, &alias, target)
        .await
        .map_err(|e| referenced(e, wanllmdb_domain::error::Entity::Version, field))?;
    ok(&AliasDto::from(a))
}

#[utoipa::path(
    delete,
    path = "/api/v1/artifacts/{artifact_id}/aliases/{alias}",
    tag = "aliases",
    summary = "Remove an alias.",
    params(("artifact_id" = Uuid, Path, description = "An artifact's id."), ("alias" = String, Path, description = "The alias, e.g. best.", pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")),
    responses(
        (status = 204, description = "Done; no body."),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Forbidden,
        problems::NotFound,
        problems::Conflict,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
pub async fn remove_alias(
    state: State,
    auth: Auth,
    path: web::Path<(ArtifactId, String)>,
) -> ApiResult<HttpResponse> {
    let (artifact, alias) = path.into_inner();
    let alias = valid(AliasName::parse(alias))?;
    state
        .registry
        .remove_alias(&auth.0, artifact, &alias)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    get,
    path = "/api/v1/artifacts/{artifact_id}/aliases/history",
    tag = "aliases",
    summary = "Alias moves, oldest first.",
    params(("artifact_id" = Uuid, Path, description = "An artifact's id."), AliasHistoryQuery),
    responses(
        (status = 200, description = "Success.", body = Vec<AliasEventDto>),
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
pub async fn alias_history(
    state: State,
    auth: Auth,
    path: web::Path<ArtifactId>,
    q: web::Query<AliasHistoryQuery>,
) -> ApiResult<HttpResponse> {
    let alias = q
        .into_inner()
        .alias
        .map(AliasName::parse)
        .transpose()
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let events = state
        .registry
        .alias_history(&auth.0, *path, alias.as_ref())
        .await?;
    ok(&events
        .into_iter()
        .map(AliasEventDto::from)
        .collect::<Vec<_>>())
}

#[utoipa::path(
    get,
    path = "/api/v1/resolve",
    tag = "aliases",
    summary = "Resolve a reference [project/]name[:vN|alias]; with run_id, record the run as a user.",
    params(ResolveQuery),
    responses(
        (status = 200, description = "Success.", body = ResolvedDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
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
    ok(&ResolvedDto {
        artifact: a.into(),
        version: view.into(),
    })
}
