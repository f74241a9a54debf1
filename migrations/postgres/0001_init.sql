-- Same model as migrations/sqlite/0001_init.sql. Times are Unix milliseconds; JSON lives in
-- TEXT columns, as in SQLite, so both stores encode and decode it with the same code.

CREATE TABLE folders (
    id          TEXT PRIMARY KEY,
    path        TEXT NOT NULL UNIQUE,
    parent_path TEXT NOT NULL,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX folders_parent ON folders (parent_path, name);

CREATE TABLE blobs (
    hash       TEXT PRIMARY KEY,
    size       BIGINT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('live', 'deleting')),
    claimed_at BIGINT NOT NULL
);

CREATE TABLE files (
    id                 TEXT PRIMARY KEY,
    folder_path        TEXT NOT NULL,
    name               TEXT NOT NULL,
    current_version_id TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    UNIQUE (folder_path, name)
);
CREATE INDEX files_created ON files (created_at, id);

CREATE TABLE file_versions (
    id                 TEXT PRIMARY KEY,
    file_id            TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    number             BIGINT NOT NULL,
    blob_hash          TEXT NOT NULL REFERENCES blobs (hash),
    size               BIGINT NOT NULL,
    mime               TEXT NOT NULL,
    format             TEXT NOT NULL,
    file_type          TEXT NOT NULL,
    width              BIGINT,
    height             BIGINT,
    has_alpha          BOOLEAN NOT NULL,
    tags               TEXT,
    ai_tags            TEXT,
    custom_coordinates TEXT,
    custom_metadata    TEXT NOT NULL DEFAULT '{}',
    description        TEXT,
    is_private         BOOLEAN NOT NULL,
    is_published       BOOLEAN NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    UNIQUE (file_id, number)
);
CREATE INDEX file_versions_blob ON file_versions (blob_hash);
CREATE INDEX file_versions_file ON file_versions (file_id);

CREATE TABLE events (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    subject_id  TEXT NOT NULL,
    actor       TEXT NOT NULL,
    payload     TEXT NOT NULL
);

CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only';
END
$$;
CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();
