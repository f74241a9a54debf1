-- Folders other than the root. Paths are normalised (`/a/b`); the root is implicit.
CREATE TABLE folders (
    id          TEXT PRIMARY KEY,
    path        TEXT NOT NULL UNIQUE,
    parent_path TEXT NOT NULL,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX folders_parent ON folders (parent_path, name);

-- A file is a name in a folder with a current version.
CREATE TABLE files (
    id                 TEXT PRIMARY KEY,
    folder_path        TEXT NOT NULL,
    name               TEXT NOT NULL,
    current_version_id TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (folder_path, name)
);
CREATE INDEX files_created ON files (created_at, id);

-- Every version carries its own bytes (by BLAKE3 hash) and the attributes current with it.
CREATE TABLE file_versions (
    id                 TEXT PRIMARY KEY,
    file_id            TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    number             INTEGER NOT NULL,
    blob_hash          TEXT NOT NULL REFERENCES blobs (hash),
    size               INTEGER NOT NULL,
    mime               TEXT NOT NULL,
    format             TEXT NOT NULL,
    file_type          TEXT NOT NULL,
    width              INTEGER,
    height             INTEGER,
    has_alpha          INTEGER NOT NULL,
    tags               TEXT,
    ai_tags            TEXT,
    custom_coordinates TEXT,
    custom_metadata    TEXT NOT NULL DEFAULT '{}',
    description        TEXT,
    is_private         INTEGER NOT NULL,
    is_published       INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (file_id, number)
);
CREATE INDEX file_versions_blob ON file_versions (blob_hash);

-- Blobs the metadata knows of. An upload claims its blob here before writing the bytes, and
-- the sweeper marks a blob 'deleting' before removing its bytes, so the two cannot interleave
-- into a version row that points at deleted bytes.
CREATE TABLE blobs (
    hash       TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('live', 'deleting')),
    claimed_at INTEGER NOT NULL
);

-- Append-only: every change to the library, written in the transaction that makes it.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    subject_id  TEXT NOT NULL,
    actor       TEXT NOT NULL,
    payload     TEXT NOT NULL
);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only');
END;
