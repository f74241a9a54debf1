-- Files refer to their folder by id, so renaming or moving a folder rewrites folder rows
-- only, never the files in it. The root gets a row of its own with a fixed id.
INSERT INTO folders (id, path, parent_path, name, created_at, updated_at)
VALUES ('000000000000000000000000', '/', '', '', 0, 0)
ON CONFLICT (path) DO NOTHING;

-- SQLite cannot change a table's constraints in place: rebuild `files` (the migration runner
-- turns foreign keys off around this, as SQLite's documentation prescribes). A file whose
-- folder has no row would get a NULL folder_id and stop the migration.
CREATE TABLE files_new (
    id                 TEXT PRIMARY KEY,
    folder_id          TEXT NOT NULL REFERENCES folders (id),
    name               TEXT NOT NULL,
    current_version_id TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (folder_id, name)
);
INSERT INTO files_new (id, folder_id, name, current_version_id, created_at, updated_at)
SELECT f.id, (SELECT d.id FROM folders d WHERE d.path = f.folder_path), f.name,
       f.current_version_id, f.created_at, f.updated_at
FROM files f;
DROP TABLE files;
ALTER TABLE files_new RENAME TO files;
CREATE INDEX files_created ON files (created_at, id);

-- Where a step-wise job (folder copy, move) stands; written in each step's transaction.
ALTER TABLE jobs ADD COLUMN progress TEXT;

-- Cache purge requests: the derived-image cache honours them by URL.
CREATE TABLE purges (
    id           TEXT PRIMARY KEY,
    url          TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    completed_at INTEGER
);
