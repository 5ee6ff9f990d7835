// The tables, shared by both backends: included into each backend's `schema` module, which
// provides `sql::{Id, Instant, Json}` as that backend's column types.

diesel::table! {
    use diesel::sql_types::{Bool, Text};
    use super::sql::{Id, Instant};
    users (id) {
        id -> Id,
        name -> Text,
        is_admin -> Bool,
        created_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::{Nullable, Text};
    use super::sql::{Id, Instant};
    api_keys (id) {
        id -> Id,
        user_id -> Id,
        label -> Text,
        secret_hash -> Text,
        prefix -> Text,
        created_at -> Instant,
        revoked_at -> Nullable<Instant>,
    }
}

diesel::table! {
    use diesel::sql_types::{Nullable, Text};
    use super::sql::{Id, Instant};
    sessions (id) {
        id -> Id,
        user_id -> Id,
        secret_hash -> Text,
        csrf_token -> Text,
        created_at -> Instant,
        expires_at -> Instant,
        revoked_at -> Nullable<Instant>,
    }
}

diesel::table! {
    use diesel::sql_types::Text;
    use super::sql::{Id, Instant};
    projects (id) {
        id -> Id,
        name -> Text,
        description -> Text,
        created_by -> Id,
        created_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::Text;
    use super::sql::{Id, Instant};
    memberships (project_id, user_id) {
        project_id -> Id,
        user_id -> Id,
        role -> Text,
        created_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::Text;
    use super::sql::{Id, Instant, Json};
    runs (id) {
        id -> Id,
        project_id -> Id,
        name -> Text,
        metadata -> Json,
        created_by -> Id,
        created_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::{Integer, Nullable, Text};
    use super::sql::{Id, Instant, Json};
    artifacts (id) {
        id -> Id,
        project_id -> Id,
        name -> Text,
        #[sql_name = "type"]
        artifact_type -> Text,
        description -> Text,
        metadata -> Json,
        created_by -> Id,
        version_count -> Integer,
        next_version_index -> Integer,
        latest_version -> Nullable<Integer>,
        created_at -> Instant,
        updated_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text};
    use super::sql::{Id, Instant, Json};
    artifact_versions (id) {
        id -> Id,
        artifact_id -> Id,
        project_id -> Id,
        version -> Integer,
        description -> Text,
        metadata -> Json,
        file_count -> BigInt,
        total_size -> BigInt,
        digest -> Nullable<Text>,
        is_finalized -> Bool,
        finalized_at -> Nullable<Instant>,
        run_id -> Nullable<Id>,
        created_by -> Id,
        created_at -> Instant,
        updated_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::{BigInt, Text};
    use super::sql::{Id, Instant};
    blobs (project_id, sha256) {
        project_id -> Id,
        sha256 -> Text,
        md5 -> Text,
        size -> BigInt,
        storage_key -> Text,
        created_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::{BigInt, Text};
    use super::sql::{Id, Instant};
    artifact_files (id) {
        id -> Id,
        version_id -> Id,
        project_id -> Id,
        path -> Text,
        size -> BigInt,
        md5_hash -> Text,
        sha256_hash -> Text,
        content_type -> Text,
        storage_key -> Text,
        created_at -> Instant,
        dir -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::{BigInt, Text};
    use super::sql::Id;
    artifact_folders (version_id, path) {
        version_id -> Id,
        path -> Text,
        parent -> Text,
        file_count -> BigInt,
        total_size -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::{Double, Text};
    use super::sql::Id;
    artifact_numbers (artifact_id, path) {
        artifact_id -> Id,
        project_id -> Id,
        path -> Text,
        value -> Double,
    }
}

diesel::table! {
    use diesel::sql_types::{Integer, Nullable, Text};
    use super::sql::{Id, Instant};
    aliases (artifact_id, name) {
        artifact_id -> Id,
        name -> Text,
        version_id -> Id,
        version -> Integer,
        updated_by -> Nullable<Id>,
        updated_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::{Nullable, Text};
    use super::sql::{Id, Instant};
    alias_events (id) {
        id -> Id,
        artifact_id -> Id,
        alias -> Text,
        from_version -> Nullable<Id>,
        to_version -> Nullable<Id>,
        actor -> Nullable<Id>,
        moved_at -> Instant,
    }
}

diesel::table! {
    use super::sql::{Id, Instant};
    run_inputs (run_id, version_id) {
        run_id -> Id,
        version_id -> Id,
        created_at -> Instant,
    }
}

diesel::table! {
    use diesel::sql_types::Nullable;
    use super::sql::{Id, Instant};
    artifact_downloads (id) {
        id -> Id,
        version_id -> Id,
        file_id -> Nullable<Id>,
        user_id -> Id,
        downloaded_at -> Instant,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    users,
    api_keys,
    sessions,
    projects,
    memberships,
    runs,
    artifacts,
    artifact_versions,
    blobs,
    artifact_files,
    artifact_folders,
    artifact_numbers,
    aliases,
    alias_events,
    run_inputs,
    artifact_downloads,
);
