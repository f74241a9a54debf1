-- Custom metadata fields (docs/custom-metadata.md). Deleted fields stay, marked, so that their
-- names are never reused: a name is unique among all fields, a label among live ones.
CREATE TABLE custom_metadata_fields (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    label       TEXT NOT NULL,
    description TEXT,
    schema      TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX custom_metadata_fields_live_label ON custom_metadata_fields (label)
    WHERE deleted = 0;
