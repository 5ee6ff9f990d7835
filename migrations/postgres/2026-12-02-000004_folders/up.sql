-- Folders in a version: each file knows the folder it sits in (`dir`), and every folder keeps
-- the count and size of the files below it, so one page of a folder is two index range reads
-- however many files the version holds.
ALTER TABLE artifact_files ADD COLUMN dir text COLLATE "C" NOT NULL DEFAULT '';
-- rtrim(path, <every character but '/'>) keeps the path up to its last '/'.
UPDATE artifact_files SET dir = rtrim(path, replace(path, '/', '')) WHERE strpos(path, '/') > 0;
CREATE INDEX artifact_files_dir_idx ON artifact_files (version_id, dir, path);

CREATE TABLE artifact_folders (
    version_id  uuid NOT NULL REFERENCES artifact_versions (id) ON DELETE CASCADE,
    path        text COLLATE "C" NOT NULL,
    parent      text COLLATE "C" NOT NULL,
    file_count  bigint NOT NULL CHECK (file_count >= 0),
    total_size  bigint NOT NULL CHECK (total_size >= 0),
    PRIMARY KEY (version_id, path)
);
CREATE INDEX artifact_folders_parent_idx ON artifact_folders (version_id, parent, path);

-- Every folder above every existing file, with its totals.
INSERT INTO artifact_folders (version_id, path, parent, file_count, total_size)
WITH RECURSIVE up (version_id, folder, size) AS (
    SELECT version_id, dir, size FROM artifact_files WHERE dir <> ''
  UNION ALL
    SELECT version_id, rtrim(left(folder, -1), replace(left(folder, -1), '/', '')), size
    FROM up WHERE strpos(left(folder, -1), '/') > 0
)
SELECT version_id, folder, rtrim(left(folder, -1), replace(left(folder, -1), '/', '')),
       count(*), sum(size)
FROM up GROUP BY version_id, folder;
