//! Errors. `ValidationError` is what the validated types return; `Error` is what every use case of
//! the service returns, one variant per HTTP-visible outcome plus a catch-all for the unexpected.

use std::fmt;

use crate::ports::{AddFilesError, BlobError, FinalizeError, StoreError};

/// A value that breaks a documented rule (a name's character set, a path with `..`, ...).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {message}")]
pub struct ValidationError {
    /// The field or kind of value, e.g. `artifact_name`, `path`, `sha256`.
    pub field: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// What kind of thing was missing or clashed, for messages and machine-readable codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entity {
    Project,
    User,
    ApiKey,
    Session,
    Membership,
    Run,
    Artifact,
    Version,
    File,
    Alias,
    Blob,
    Upload,
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Entity::Project => "project",
            Entity::User => "user",
            Entity::ApiKey => "api key",
            Entity::Session => "session",
            Entity::Membership => "membership",
            Entity::Run => "run",
            Entity::Artifact => "artifact",
            Entity::Version => "artifact version",
            Entity::File => "file",
            Entity::Alias => "alias",
            Entity::Blob => "blob",
            Entity::Upload => "upload",
        })
    }
}

/// The outcome of a failed use case.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request breaks a validation rule (4xx: 400/422).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The thing does not exist, or the caller may not know it exists (404).
    #[error("{entity} not found: {key}")]
    NotFound { entity: Entity, key: String },
    /// A unique name or path is taken (409).
    #[error("{entity} already exists: {key}")]
    AlreadyExists { entity: Entity, key: String },
    /// The request clashes with the current state, e.g. adding a file to a finalized version (409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A precondition on stored bytes failed, e.g. finalizing with a blob missing (412/422).
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// A byte range past the end of the file (416).
    #[error("range not satisfiable: {0}")]
    RangeNotSatisfiable(String),
    /// No valid credentials (401).
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The caller is known but lacks the role (403).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The blob store is out of space (507).
    #[error("insufficient storage: {0}")]
    InsufficientStorage(String),
    /// A backend failed or could not be reached; retrying later may work (503).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug (500).
    #[error("unexpected: {0}")]
    Unexpected(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    pub fn not_found(entity: Entity, key: impl fmt::Display) -> Self {
        Error::NotFound {
            entity,
            key: key.to_string(),
        }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Error::Conflict(message.into())
    }

    /// A stable machine-readable code for the HTTP layer's problem documents.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid(_) => "invalid_input",
            Error::NotFound { .. } => "not_found",
            Error::AlreadyExists { .. } => "already_exists",
            Error::Conflict(_) => "conflict",
            Error::PreconditionFailed(_) => "precondition_failed",
            Error::RangeNotSatisfiable(_) => "range_not_satisfiable",
            Error::Unauthenticated(_) => "unauthenticated",
            Error::Forbidden(_) => "forbidden",
            Error::InsufficientStorage(_) => "insufficient_storage",
            Error::Unavailable(_) => "unavailable",
            Error::Unexpected(_) => "internal",
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { entity, key } => Error::NotFound { entity, key },
            StoreError::AlreadyExists { entity, key } => Error::AlreadyExists { entity, key },
            StoreError::Conflict(m) => Error::Conflict(m),
            StoreError::Retryable(m) => Error::Conflict(format!("{m}; retry")),
            StoreError::Invalid(v) => Error::Invalid(v),
            StoreError::Unexpected(e) => Error::Unexpected(e),
        }
    }
}

impl From<FinalizeError> for Error {
    fn from(e: FinalizeError) -> Self {
        match e {
            FinalizeError::NotFound(id) => Error::not_found(Entity::Version, id),
            FinalizeError::AlreadyFinalized(_) | FinalizeError::Retryable(_) => {
                Error::Conflict(e.to_string())
            }
            FinalizeError::Store(e) => e.into(),
        }
    }
}

impl From<AddFilesError> for Error {
    fn from(e: AddFilesError) -> Self {
        match e {
            AddFilesError::VersionNotFound(id) => Error::not_found(Entity::Version, id),
            AddFilesError::PathTaken(path) => Error::AlreadyExists {
                entity: Entity::File,
                key: path,
            },
            AddFilesError::Finalized(_) | AddFilesError::Retryable(_) => {
                Error::Conflict(e.to_string())
            }
            AddFilesError::Store(e) => e.into(),
        }
    }
}

impl From<BlobError> for Error {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::NotFound(key) => Error::NotFound {
                entity: Entity::Blob,
                key,
            },
            BlobError::AlreadyExists(key) => Error::AlreadyExists {
                entity: Entity::Blob,
                key,
            },
            BlobError::PreconditionFailed(m) => Error::PreconditionFailed(m),
            BlobError::RangeNotSatisfiable(m) => Error::RangeNotSatisfiable(m),
            BlobError::InvalidDigest(m) => Error::Invalid(ValidationError::new("digest", m)),
            BlobError::InvalidInput(m) => Error::Invalid(ValidationError::new("blob", m)),
            BlobError::InsufficientStorage(m) => Error::InsufficientStorage(m),
            BlobError::Unavailable(m) => Error::Unavailable(m),
            BlobError::Unexpected(e) => Error::Unexpected(e),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
