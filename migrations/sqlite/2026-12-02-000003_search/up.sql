-- Search: the sort orders a listing most often asks for within a project or an artifact get an
-- index (metadata conditions are evaluated with json_extract on the rows those narrow down to).
CREATE INDEX artifacts_project_created_idx ON artifacts (project_id, created_at, id);
CREATE INDEX artifacts_project_updated_idx ON artifacts (project_id, updated_at, id);
CREATE INDEX artifact_versions_artifact_created_idx ON artifact_versions (artifact_id, created_at, id);
CREATE INDEX artifact_versions_artifact_size_idx ON artifact_versions (artifact_id, total_size, id);
