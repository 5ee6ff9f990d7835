//! The route handlers, one module per resource: DTO in, validated domain request, use case,
//! DTO out. Each carries its `#[utoipa::path]`, from which the OpenAPI document is built.

pub mod admin;
pub mod aliases;
pub mod archive;
pub mod artifacts;
pub mod blobs;
pub mod downloads;
pub mod files;
pub mod multipart;
pub mod projects;
pub mod runs;
pub mod session;
pub mod system;
pub mod users;
pub mod versions;

mod prelude {
    #![allow(unused_imports)]
    pub use actix_web::http::{header, StatusCode};
    pub use actix_web::{web, HttpRequest, HttpResponse};
    pub use uuid::Uuid;
    pub use wanllmdb_domain::entities::{BrowserSession, Download};
    pub use wanllmdb_domain::ids::*;
    pub use wanllmdb_domain::ports::{ByteRange, ByteStream, SignedServe};
    pub use wanllmdb_domain::reference::ArtifactRef;
    pub use wanllmdb_domain::service::{CreateArtifact, CreateVersion, GcOptions, VersionTarget};
    pub use wanllmdb_domain::types::*;

    pub(crate) use super::downloads::{parse_range, stream_response};
    pub(crate) use super::{body_stream, created, metadata, ok, referenced, stored, State};
    pub use crate::auth::Auth;
    pub use crate::dto::*;
    pub use crate::error::{ApiError, ApiResult};
    pub use crate::json::{from_object_slice, Json};
    pub(crate) use crate::problems;
    pub use crate::query::Query;
}

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use futures::StreamExt;
use wanllmdb_domain::ports::ByteStream;
use wanllmdb_domain::types::Metadata;

use crate::dto::*;
use crate::error::ApiResult;
use crate::AppState;

pub(crate) type State = web::Data<AppState>;

pub(super) fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> HttpResponse {
    HttpResponse::build(status).json(body)
}

pub(super) fn ok<T: serde::Serialize>(body: &T) -> ApiResult<HttpResponse> {
    Ok(json(StatusCode::OK, body))
}

pub(super) fn created<T: serde::Serialize>(body: &T) -> ApiResult<HttpResponse> {
    Ok(json(StatusCode::CREATED, body))
}

/// An entity named in a request's body that does not exist (or is not visible) is invalid
/// input, 422 naming the field: the request's own target, named by its path, was found.
pub(super) fn referenced(
    e: wanllmdb_domain::Error,
    entity: wanllmdb_domain::error::Entity,
    field: &str,
) -> crate::error::ApiError {
    match e {
        wanllmdb_domain::Error::NotFound {
            entity: missing,
            key,
        } if missing == entity => crate::error::ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_reference",
            format!("{field}: no such {entity}: {key}"),
        ),
        other => other.into(),
    }
}

pub(super) fn metadata(v: serde_json::Value) -> ApiResult<Metadata> {
    valid(Metadata::parse(v))
}

pub(super) fn stored(
    key: wanllmdb_domain::keys::ObjectKey,
    spec: &wanllmdb_domain::service::FileSpec,
) -> StoredDto {
    StoredDto {
        storage_key: key.into(),
        sha256_hash: spec.sha256.as_str().to_owned(),
        size: spec.size,
    }
}

/// The request body as a `Send` stream: actix's payload lives on its worker thread, so a local
/// task forwards it through a small bounded channel (which also gives backpressure).
pub(super) fn body_stream(mut payload: web::Payload) -> ByteStream {
    use futures::SinkExt;
    let (mut tx, rx) = futures::channel::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    actix_web::rt::spawn(async move {
        while let Some(chunk) = payload.next().await {
            let item = chunk.map_err(|e| std::io::Error::other(e.to_string()));
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    });
    Box::pin(rx)
}
