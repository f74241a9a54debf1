-- Custom metadata fields (docs/custom-metadata.md). Deleted fields stay, marked, so that their
-- names are never reused: a name is unique among all fields, a label among live ones.
CREATE TABLE custom_metadata_fields (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    label       TEXT NOT NULL,
    description TEXT,
    schema      TEXT NOT NULL,
    deleted     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX custom_metadata_fields_live_label ON custom_metadata_fields (label)
    WHERE NOT deleted;
