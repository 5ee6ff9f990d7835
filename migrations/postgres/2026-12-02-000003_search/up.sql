-- Search: metadata equality and `contains` are jsonb containment (@>), served by GIN indexes;
-- the sort orders a listing most often asks for within a project or an artifact get a btree.
CREATE INDEX artifacts_metadata_idx ON artifacts USING gin (metadata jsonb_path_ops);
CREATE INDEX artifact_versions_metadata_idx ON artifact_versions USING gin (metadata jsonb_path_ops);
CREATE INDEX artifacts_project_created_idx ON artifacts (project_id, created_at, id);
CREATE INDEX artifacts_project_updated_idx ON artifacts (project_id, updated_at, id);
CREATE INDEX artifact_versions_artifact_created_idx ON artifact_versions (artifact_id, created_at, id);
CREATE INDEX artifact_versions_artifact_size_idx ON artifact_versions (artifact_id, total_size, id);
