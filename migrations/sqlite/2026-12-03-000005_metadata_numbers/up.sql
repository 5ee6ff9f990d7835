-- A listing sorted by a metadata number reads this index in order instead of computing the
-- number from every artifact's JSON: one row per number that a sort path can name (the keys a
-- `MetaPath` accepts, through objects only, at most 8 deep; `wanllmdb_domain::query::number_leaves`).
CREATE TABLE artifact_numbers (
    artifact_id  TEXT NOT NULL REFERENCES artifacts (id) ON DELETE CASCADE,
    project_id   TEXT NOT NULL,
    path         TEXT NOT NULL,
    value        REAL NOT NULL,
    PRIMARY KEY (artifact_id, path)
) WITHOUT ROWID;
CREATE INDEX artifact_numbers_sort_idx ON artifact_numbers (project_id, path, value, artifact_id);

WITH RECURSIVE leaves (artifact_id, project_id, path, value, type, depth) AS (
    SELECT a.id, a.project_id, e.key, e.value, e.type, 1
    FROM artifacts a, json_each(a.metadata) e
    WHERE e.key <> '' AND length(e.key) <= 64 AND e.key NOT GLOB '*[^A-Za-z0-9_-]*'
  UNION ALL
    SELECT l.artifact_id, l.project_id, l.path || '.' || e.key, e.value, e.type, l.depth + 1
    FROM leaves l, json_each(CASE WHEN l.type = 'object' THEN l.value ELSE '{}' END) e
    WHERE l.depth < 8
      AND e.key <> '' AND length(e.key) <= 64 AND e.key NOT GLOB '*[^A-Za-z0-9_-]*'
)
INSERT INTO artifact_numbers (artifact_id, project_id, path, value)
SELECT artifact_id, project_id, path, value FROM leaves WHERE type IN ('integer', 'real');
