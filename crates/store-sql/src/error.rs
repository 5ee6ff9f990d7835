//! Turning Diesel and pool errors into the port's typed errors.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use wanllmdb_domain::error::{Entity, ValidationError};
use wanllmdb_domain::ports::StoreError;

/// What a transaction body fails with: a typed error it chose, or a database error to classify.
#[derive(Debug)]
pub(crate) enum DbError {
    Store(StoreError),
    Diesel(DieselError),
}

impl From<StoreError> for DbError {
    fn from(e: StoreError) -> Self {
        DbError::Store(e)
    }
}

impl From<DieselError> for DbError {
    fn from(e: DieselError) -> Self {
        DbError::Diesel(e)
    }
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Store(e) => e,
            DbError::Diesel(e) => classify(e),
        }
    }
}

pub(crate) type DbResult<T> = Result<T, DbError>;

/// Maps a database error to the port's errors. Constraint violations are never the catch-all:
/// unique -> `AlreadyExists` (entity from the table), foreign key -> `Retryable` (a row referenced
/// was removed, or a row still referenced was to be removed, by a concurrent transaction), check
/// -> `Invalid`, serialization failures -> `Retryable`.
pub(crate) fn classify(e: DieselError) -> StoreError {
    match e {
        DieselError::DatabaseError(kind, info) => {
            let message = info.message().to_owned();
            let table = info
                .table_name()
                .map(str::to_owned)
                .or_else(|| sqlite_table(&message));
            match kind {
                DatabaseErrorKind::UniqueViolation => StoreError::AlreadyExists {
                    entity: table.as_deref().map_or(Entity::Blob, entity_of_table),
                    key: info.details().unwrap_or(&message).to_owned(),
                },
                DatabaseErrorKind::ForeignKeyViolation => StoreError::Retryable(format!(
                    "a referenced row changed concurrently ({message})"
                )),
                DatabaseErrorKind::CheckViolation | DatabaseErrorKind::NotNullViolation => {
                    StoreError::Invalid(ValidationError::new("value", message))
                }
                DatabaseErrorKind::SerializationFailure => {
                    StoreError::Retryable(format!("concurrent update ({message})"))
                }
                _ => StoreError::unexpected(format!("database error: {message}")),
            }
        }
        DieselError::NotFound => StoreError::unexpected("a row the store expected is missing"),
        other => StoreError::unexpected(other),
    }
}

/// SQLite names the table in its message: "UNIQUE constraint failed: users.name".
fn sqlite_table(message: &str) -> Option<String> {
    let rest = message.split_once("failed: ")?.1;
    Some(rest.split('.').next()?.to_owned())
}

fn entity_of_table(table: &str) -> Entity {
    match table {
        "users" => Entity::User,
        "api_keys" => Entity::ApiKey,
        "sessions" => Entity::Session,
        "projects" => Entity::Project,
        "memberships" => Entity::Membership,
        "runs" => Entity::Run,
        "artifacts" => Entity::Artifact,
        "artifact_versions" => Entity::Version,
        "artifact_files" => Entity::File,
        "aliases" => Entity::Alias,
        _ => Entity::Blob,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_messages_name_their_table() {
        assert_eq!(
            sqlite_table("UNIQUE constraint failed: users.name").as_deref(),
            Some("users")
        );
        assert_eq!(entity_of_table("artifact_files"), Entity::File);
        assert_eq!(sqlite_table("no colon here"), None);
    }
}
