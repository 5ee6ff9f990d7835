-- Garbage collection finds abandoned drafts by age; finalized versions (nearly all rows) stay
-- out of the index.
CREATE INDEX artifact_versions_drafts_idx ON artifact_versions (created_at) WHERE NOT is_finalized;
