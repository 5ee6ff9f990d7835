//! Users and their API keys.

use super::prelude::*;

#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "users",
    summary = "The caller.",
    responses(
        (status = 200, description = "Success.", body = UserDto),
        problems::Unauthenticated,
    ),
    security(("bearer" = [])),
)]
pub async fn me(state: State, auth: Auth) -> ApiResult<HttpResponse> {
    let user = state.registry.get_user(&auth.0, auth.0.user_id).await?;
    ok(&UserDto::from(user))
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{user_id}",
    tag = "users",
    summary = "A user's name and id (any signed-in user; the UI shows who made what).",
    params(("user_id" = Uuid, Path, description = "A user's id.")),
    responses(
        (status = 200, description = "Success.", body = UserDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
    ),
    security(("bearer" = [])),
)]
pub async fn get_user(
    state: State,
    auth: Auth,
    path: web::Path<UserId>,
) -> ApiResult<HttpResponse> {
    let user = state.registry.get_user(&auth.0, *path).await?;
    ok(&UserDto::from(user))
}

#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    summary = "The user with exactly this name (any signed-in user; to add a project member).",
    params(UserQuery),
    responses(
        (status = 200, description = "Success.", body = UserDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::NotFound,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
pub async fn find_user(
    state: State,
    auth: Auth,
    q: web::Query<UserQuery>,
) -> ApiResult<HttpResponse> {
    let name = valid(UserName::parse(q.into_inner().name))?;
    let user = state.registry.get_user_by_name(&auth.0, &name).await?;
    ok(&UserDto::from(user))
}

#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    summary = "Create a user (administrators).",
    request_body = CreateUserDto,
    responses(
        (status = 201, description = "Success.", body = UserDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Forbidden,
        problems::Conflict,
        problems::TooLarge,
        problems::NotJson,
        problems::Invalid,
    ),
    security(("bearer" = [])),
)]
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
    created(&UserDto::from(user))
}

#[utoipa::path(
    post,
    path = "/api/v1/users/{user_id}/keys",
    tag = "users",
    summary = "Create an API key; the secret is shown once.",
    params(("user_id" = Uuid, Path, description = "A user's id.")),
    request_body = CreateKeyDto,
    responses(
        (status = 201, description = "Success.", body = CreatedKeyDto),
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
pub async fn create_key(
    state: State,
    auth: Auth,
    path: web::Path<UserId>,
    body: Json<CreateKeyDto>,
) -> ApiResult<HttpResponse> {
    let key = state
        .registry
        .create_api_key(&auth.0, *path, &body.label)
        .await?;
    created(&CreatedKeyDto {
        key: key.key.into(),
        secret: key.secret,
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{user_id}/keys",
    tag = "users",
    summary = "List a user's API keys.",
    params(("user_id" = Uuid, Path, description = "A user's id.")),
    responses(
        (status = 200, description = "Success.", body = Vec<ApiKeyDto>),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Forbidden,
        problems::NotFound,
    ),
    security(("bearer" = [])),
)]
pub async fn list_keys(
    state: State,
    auth: Auth,
    path: web::Path<UserId>,
) -> ApiResult<HttpResponse> {
    let keys = state.registry.list_api_keys(&auth.0, *path).await?;
    ok(&keys.into_iter().map(ApiKeyDto::from).collect::<Vec<_>>())
}

#[utoipa::path(
    delete,
    path = "/api/v1/users/{user_id}/keys/{key_id}",
    tag = "users",
    summary = "Revoke an API key.",
    params(("user_id" = Uuid, Path, description = "A user's id."), ("key_id" = Uuid, Path, description = "An API key's id.")),
    responses(
        (status = 200, description = "Success.", body = ApiKeyDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::Forbidden,
        problems::NotFound,
    ),
    security(("bearer" = [])),
)]
pub async fn revoke_key(
    state: State,
    auth: Auth,
    path: web::Path<(UserId, ApiKeyId)>,
) -> ApiResult<HttpResponse> {
    let (user, key) = path.into_inner();
    let key = state.registry.revoke_api_key(&auth.0, user, key).await?;
    ok(&ApiKeyDto::from(key))
}
