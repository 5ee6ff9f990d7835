//! RFC 9457 problem documents: what every error answers with (`application/problem+json`).

use crate::prelude::*;

/// An error answer. `code` is stable and machine-readable; `detail` is for people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// `https://wanllmdb.dev/problems/{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status's reason phrase.
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// e.g. `not_found`, `invalid_input`, `forbidden`, `conflict`.
    pub code: String,
}
