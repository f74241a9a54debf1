-- Files refer to their folder by id, so renaming or moving a folder rewrites folder rows
-- only, never the files in it. The root gets a row of its own with a fixed id.
INSERT INTO folders (id, path, parent_path, name, created_at, updated_at)
VALUES ('000000000000000000000000', '/', '', '', 0, 0)
ON CONFLICT (path) DO NOTHING;

ALTER TABLE files ADD COLUMN folder_id TEXT REFERENCES folders (id);
UPDATE files f SET folder_id = d.id FROM folders d WHERE d.path = f.folder_path;
-- Fails (and rolls the migration back) if a file's folder had no row.
ALTER TABLE files ALTER COLUMN folder_id SET NOT NULL;
ALTER TABLE files DROP COLUMN folder_path;
ALTER TABLE files ADD CONSTRAINT files_folder_name UNIQUE (folder_id, name);

-- Where a step-wise job (folder copy, move) stands; written in each step's transaction.
ALTER TABLE jobs ADD COLUMN progress TEXT;

-- Cache purge requests: the derived-image cache honours them by URL.
CREATE TABLE purges (
    id           TEXT PRIMARY KEY,
    url          TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    completed_at BIGINT
);
