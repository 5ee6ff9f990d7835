//! `Authorization: Bearer <api key>` on every /api/v1 call.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use wanllmdb_domain::service::Actor;

use crate::error::ApiError;
use crate::AppState;

/// The authenticated caller.
#[derive(Debug, Clone, Copy)]
pub struct Auth(pub Actor);

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let header = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .map(|v| v.to_str().map(str::to_owned));
        Box::pin(async move {
            let unauthenticated =
                |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", m);
            let state = state.ok_or_else(|| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "no state")
            })?;
            let header = match header {
                None => return Err(unauthenticated("send Authorization: Bearer <api key>")),
                Some(Err(_)) => {
                    return Err(unauthenticated(
                        "the Authorization header is not valid text",
                    ))
                }
                Some(Ok(h)) => h,
            };
            let secret = header
                .strip_prefix("Bearer ")
                .or_else(|| header.strip_prefix("bearer "))
                .ok_or_else(|| {
                    unauthenticated("use the Bearer scheme: Authorization: Bearer <api key>")
                })?;
            let actor = state.registry.authenticate(secret.trim()).await?;
            tracing::Span::current().record("user_id", tracing::field::display(actor.user_id));
            Ok(Auth(actor))
        })
    }
}
