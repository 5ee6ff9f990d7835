//! Browser sign-in: an API key pasted once becomes an HttpOnly, SameSite=Strict session cookie
//! backed by the sessions table (every server instance accepts it); sign-out revokes it. The
//! page keeps no key or token in storage: it asks `GET /api/v1/session` for its CSRF token.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};

use super::prelude::*;
use crate::auth::{session_of, SESSION_COOKIE};

/// The session cookie: HttpOnly, SameSite=Strict, for the whole site, `Secure` when the
/// request came over HTTPS (directly or as a proxy says with `X-Forwarded-Proto`).
fn cookie(req: &HttpRequest, value: String, max_age: CookieDuration) -> Cookie<'static> {
    let https = req.connection_info().scheme() == "https";
    Cookie::build(SESSION_COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(https)
        .max_age(max_age)
        .finish()
}

fn session_dto(user: wanllmdb_domain::entities::User, s: &BrowserSession) -> SessionDto {
    SessionDto {
        user: UserDto::from(user),
        csrf_token: s.csrf_token.clone(),
        expires_at: s.expires_at,
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/session",
    tag = "users",
    summary = "Sign a browser in with an API key: sets the HttpOnly session cookie.",
    request_body = CreateSessionDto,
    responses(
        (status = 201, description = "Signed in; the cookie is set.", body = SessionDto),
        problems::Malformed,
        problems::Unauthenticated,
        problems::TooLarge,
        problems::NotJson,
        problems::Invalid,
    ),
)]
pub async fn sign_in(
    state: State,
    req: HttpRequest,
    body: Json<CreateSessionDto>,
) -> ApiResult<HttpResponse> {
    let new = state.registry.create_session(&body.api_key).await?;
    let lasts = (new.session.expires_at - new.session.created_at).num_seconds();
    Ok(HttpResponse::Created()
        .cookie(cookie(&req, new.secret, CookieDuration::seconds(lasts)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(session_dto(new.user, &new.session)))
}

#[utoipa::path(
    get,
    path = "/api/v1/session",
    tag = "users",
    summary = "The browser's session: its user and CSRF token.",
    responses(
        (status = 200, description = "Success.", body = SessionDto),
        problems::Unauthenticated,
    ),
    security(("session" = [])),
)]
pub async fn current(state: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    let (actor, session) = session_of(&req).await?;
    let user = state.registry.get_user(&actor, actor.user_id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(session_dto(user, &session)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/session",
    tag = "users",
    summary = "Sign out: the session ends on every server instance and the cookie is cleared.",
    responses(
        (status = 204, description = "Signed out."),
        problems::Unauthenticated,
        problems::Forbidden,
    ),
    security(("session" = [])),
)]
pub async fn sign_out(state: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    let (_, session) = session_of(&req).await?;
    state.registry.end_session(session.id).await?;
    Ok(HttpResponse::NoContent()
        .cookie(cookie(&req, String::new(), CookieDuration::ZERO))
        .finish())
}
