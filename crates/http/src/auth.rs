//! Who is calling: `Authorization: Bearer <api key>`, or a browser's session cookie (with a
//! CSRF token on changes).

use std::future::Future;
use std::pin::Pin;

use actix_web::http::{Method, StatusCode};
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use wanllmdb_domain::entities::BrowserSession;
use wanllmdb_domain::service::Actor;

use crate::error::ApiError;
use crate::AppState;

/// The authenticated caller.
#[derive(Debug, Clone, Copy)]
pub struct Auth(pub Actor);

/// The cookie that carries a browser session's secret.
pub const SESSION_COOKIE: &str = "wanllmdb_session";
/// The header a browser session's requests that change something must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";

fn unauthenticated(m: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", m)
}

fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "no state"))
}

/// Equal without an early exit, so a CSRF token cannot be guessed byte by byte from timings.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// The caller behind the request's session cookie, with the session; a request that changes
/// something (not GET, HEAD or OPTIONS) must carry the session's CSRF token as `X-CSRF-Token`.
pub(crate) async fn session_of(req: &HttpRequest) -> Result<(Actor, BrowserSession), ApiError> {
    let state = app_state(req)?;
    let cookie = req
        .cookie(SESSION_COOKIE)
        .ok_or_else(|| unauthenticated("no session: sign in (POST /api/v1/session)"))?;
    let (actor, session) = state.registry.authenticate_session(cookie.value()).await?;
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let sent = req.headers().get(CSRF_HEADER).map(|v| v.as_bytes());
        if !sent.is_some_and(|t| same(t, session.csrf_token.as_bytes())) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "a browser session's changes need its CSRF token in X-CSRF-Token",
            ));
        }
    }
    Ok((actor, session))
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    /// `Authorization: Bearer <api key>` when the header is there (scripts, the CLI, the SDK);
    /// else the browser's session cookie.
    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let header = req
                .headers()
                .get(actix_web::http::header::AUTHORIZATION)
                .map(|v| v.to_str().map(str::to_owned));
            let actor = match header {
                None if req.cookie(SESSION_COOKIE).is_some() => session_of(&req).await?.0,
                None => {
                    return Err(unauthenticated(
                        "send Authorization: Bearer <api key>, or sign in for a session",
                    ))
                }
                Some(Err(_)) => {
                    return Err(unauthenticated(
                        "the Authorization header is not valid text",
                    ))
                }
                Some(Ok(h)) => {
                    let secret = h
                        .strip_prefix("Bearer ")
                        .or_else(|| h.strip_prefix("bearer "))
                        .ok_or_else(|| {
                            unauthenticated(
                                "use the Bearer scheme: Authorization: Bearer <api key>",
                            )
                        })?;
                    app_state(&req)?
                        .registry
                        .authenticate(secret.trim())
                        .await?
                }
            };
            tracing::Span::current().record("user_id", tracing::field::display(actor.user_id));
            Ok(Auth(actor))
        })
    }
}
