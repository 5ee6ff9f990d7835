//! Typed identifiers. Every id is a UUIDv7 generated in the domain, so ids sort by creation time
//! and keyset pagination over them is stable.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ValidationError;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }

            pub const fn into_uuid(self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self).map_err(|_| ValidationError::new(
                    concat!($label, "_id"),
                    format!("{s:?} is not a UUID"),
                ))
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

typed_id!(/// Identifies a project.
    ProjectId, "project");
typed_id!(/// Identifies a user.
    UserId, "user");
typed_id!(/// Identifies an API key (not the secret).
    ApiKeyId, "api_key");
typed_id!(/// Identifies a browser session (not its secret).
    SessionId, "session");
typed_id!(/// Identifies a run.
    RunId, "run");
typed_id!(/// Identifies an artifact.
    ArtifactId, "artifact");
typed_id!(/// Identifies one version of an artifact.
    VersionId, "version");
typed_id!(/// Identifies one file of a version.
    FileId, "file");
typed_id!(/// Identifies one recorded alias move.
    AliasEventId, "alias_event");
typed_id!(/// Identifies one recorded download.
    DownloadId, "download");
