-- A listing sorted by a metadata number reads this index in order instead of computing the
-- number from every artifact's JSON: one row per number that a sort path can name (the keys a
-- `MetaPath` accepts, through objects only, at most 8 deep; `wanllmdb_domain::query::number_leaves`).
CREATE TABLE artifact_numbers (
    artifact_id  uuid NOT NULL REFERENCES artifacts (id) ON DELETE CASCADE,
    project_id   uuid NOT NULL,
    path         text COLLATE "C" NOT NULL,
    value        double precision NOT NULL,
    PRIMARY KEY (artifact_id, path)
);
CREATE INDEX artifact_numbers_sort_idx ON artifact_numbers (project_id, path, value, artifact_id);

WITH RECURSIVE leaves (artifact_id, project_id, path, value, depth) AS (
    SELECT a.id, a.project_id, e.key, e.value, 1
    FROM artifacts a, jsonb_each(a.metadata) e
    WHERE e.key ~ '^[A-Za-z0-9_-]{1,64}$'
  UNION ALL
    SELECT l.artifact_id, l.project_id, l.path || '.' || e.key, e.value, l.depth + 1
    FROM leaves l,
         jsonb_each(CASE WHEN jsonb_typeof(l.value) = 'object' THEN l.value ELSE '{}'::jsonb END) e
    WHERE l.depth < 8 AND e.key ~ '^[A-Za-z0-9_-]{1,64}$'
)
INSERT INTO artifact_numbers (artifact_id, project_id, path, value)
SELECT artifact_id, project_id, path, value::float8 FROM leaves WHERE jsonb_typeof(value) = 'number';
