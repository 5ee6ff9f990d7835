//! The wanllmdb wire contract: every request body, query string and response body of the REST
//! API, and the problem document errors answer with. The server (`wanllmdb-http`) and the
//! clients (`wanllmdb-client`, the CLI) use these types, so a field renamed on one side breaks
//! the other's build; their `utoipa` schemas make the OpenAPI document.
//!
//! Requests deny unknown fields. Responses are converted from domain values here (`From`);
//! requests are validated into domain values by the server.

pub mod admin;
pub mod aliases;
pub mod artifacts;
pub mod files;
pub mod inspect;
pub mod page;
pub mod problem;
pub mod runs;
pub mod users;
pub mod versions;

pub use admin::*;
pub use aliases::*;
pub use artifacts::*;
pub use files::*;
pub use inspect::*;
pub use page::*;
pub use problem::*;
pub use runs::*;
pub use users::*;
pub use versions::*;

mod prelude {
    pub use std::collections::BTreeMap;

    pub use chrono::{DateTime, Utc};
    pub use serde::{Deserialize, Serialize};
    pub use uuid::Uuid;
    pub use wanllmdb_domain::entities::*;
    pub use wanllmdb_domain::ports::PresignedRequest;
    pub use wanllmdb_domain::service::{
        DownloadTarget, MultipartPlan, UploadAction, UploadPlan, VersionView,
    };
    pub use wanllmdb_domain::types::*;
}
