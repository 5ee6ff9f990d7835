DROP TABLE artifact_folders;
DROP INDEX artifact_files_dir_idx;
ALTER TABLE artifact_files DROP COLUMN dir;
