-- wanllmdb metadata on PostgreSQL. Names and paths use the "C" collation so ordering and keyset
-- pagination follow byte order, the same on every store.

CREATE TABLE users (
    id          uuid PRIMARY KEY,
    name        text COLLATE "C" NOT NULL UNIQUE,
    is_admin    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label        text NOT NULL DEFAULT '',
    secret_hash  text NOT NULL UNIQUE,
    prefix       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);
CREATE INDEX api_keys_user_id_idx ON api_keys (user_id, id);

CREATE TABLE projects (
    id           uuid PRIMARY KEY,
    name         text COLLATE "C" NOT NULL UNIQUE,
    description  text NOT NULL DEFAULT '',
    created_by   uuid NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX memberships_user_id_idx ON memberships (user_id);

CREATE TABLE runs (
    id          uuid PRIMARY KEY,
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name        text NOT NULL,
    metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_by  uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX runs_project_id_idx ON runs (project_id, id);

CREATE TABLE artifacts (
    id                  uuid PRIMARY KEY,
    project_id          uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name                text COLLATE "C" NOT NULL,
    type                text NOT NULL CHECK (type IN ('model', 'dataset', 'file', 'code')),
    description         text NOT NULL DEFAULT '',
    metadata            jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_by          uuid NOT NULL REFERENCES users (id),
    version_count       integer NOT NULL DEFAULT 0 CHECK (version_count >= 0),
    next_version_index  integer NOT NULL DEFAULT 0 CHECK (next_version_index >= 0),
    latest_version      integer,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT artifacts_project_name_key UNIQUE (project_id, name)
);
CREATE INDEX artifacts_project_id_idx ON artifacts (project_id, id);
CREATE INDEX artifacts_name_idx ON artifacts (name);
CREATE INDEX artifacts_type_idx ON artifacts (type);
CREATE INDEX artifacts_created_by_idx ON artifacts (created_by);

CREATE TABLE artifact_versions (
    id            uuid PRIMARY KEY,
    artifact_id   uuid NOT NULL REFERENCES artifacts (id) ON DELETE CASCADE,
    project_id    uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    version       integer NOT NULL CHECK (version >= 0),
    description   text NOT NULL DEFAULT '',
    metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
    file_count    bigint NOT NULL DEFAULT 0 CHECK (file_count >= 0),
    total_size    bigint NOT NULL DEFAULT 0 CHECK (total_size >= 0),
    digest        text,
    is_finalized  boolean NOT NULL DEFAULT false,
    finalized_at  timestamptz,
    run_id        uuid REFERENCES runs (id) ON DELETE SET NULL,
    created_by    uuid NOT NULL REFERENCES users (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    -- Also the index on artifact_id: its leading column.
    CONSTRAINT artifact_versions_artifact_version_key UNIQUE (artifact_id, version)
);
CREATE INDEX artifact_versions_version_idx ON artifact_versions (version);
CREATE INDEX artifact_versions_run_id_idx ON artifact_versions (run_id);

-- Bytes known to be stored for a project. Files reference their blob, so a blob record cannot
-- be deleted while a file (even one in an uncommitted transaction) points at it.
CREATE TABLE blobs (
    project_id   uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    sha256       text NOT NULL,
    md5          text NOT NULL,
    size         bigint NOT NULL CHECK (size >= 0),
    storage_key  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, sha256)
);
CREATE INDEX blobs_created_at_idx ON blobs (created_at);

CREATE TABLE artifact_files (
    id            uuid PRIMARY KEY,
    version_id    uuid NOT NULL REFERENCES artifact_versions (id) ON DELETE CASCADE,
    project_id    uuid NOT NULL,
    path          text COLLATE "C" NOT NULL,
    size          bigint NOT NULL CHECK (size >= 0),
    md5_hash      text NOT NULL,
    sha256_hash   text NOT NULL,
    content_type  text NOT NULL,
    storage_key   text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- Also the index on version_id: its leading column.
    CONSTRAINT artifact_files_version_path_key UNIQUE (version_id, path),
    FOREIGN KEY (project_id, sha256_hash) REFERENCES blobs (project_id, sha256)
);
CREATE INDEX artifact_files_blob_idx ON artifact_files (project_id, sha256_hash);

CREATE TABLE aliases (
    artifact_id  uuid NOT NULL REFERENCES artifacts (id) ON DELETE CASCADE,
    name         text COLLATE "C" NOT NULL,
    version_id   uuid NOT NULL REFERENCES artifact_versions (id) ON DELETE CASCADE,
    version      integer NOT NULL,
    updated_by   uuid REFERENCES users (id),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (artifact_id, name)
);
CREATE INDEX aliases_version_id_idx ON aliases (version_id);

-- The history of alias moves outlives the versions it names, so no foreign keys to versions.
CREATE TABLE alias_events (
    id            uuid PRIMARY KEY,
    artifact_id   uuid NOT NULL REFERENCES artifacts (id) ON DELETE CASCADE,
    alias         text NOT NULL,
    from_version  uuid,
    to_version    uuid,
    actor         uuid REFERENCES users (id),
    moved_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alias_events_artifact_id_idx ON alias_events (artifact_id, id);

CREATE TABLE run_inputs (
    run_id      uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    version_id  uuid NOT NULL REFERENCES artifact_versions (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, version_id)
);
CREATE INDEX run_inputs_version_id_idx ON run_inputs (version_id);

CREATE TABLE artifact_downloads (
    id             uuid PRIMARY KEY,
    version_id     uuid NOT NULL REFERENCES artifact_versions (id) ON DELETE CASCADE,
    file_id        uuid REFERENCES artifact_files (id) ON DELETE SET NULL,
    user_id        uuid NOT NULL REFERENCES users (id),
    downloaded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX artifact_downloads_version_id_idx ON artifact_downloads (version_id);
