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

-- The words of a version's custom metadata texts, each as " name:word " (lowercased), for
-- `"customMetadata.name" HAS …`, as `tag_words` is for tags. Versions from before custom
-- metadata hold no values; other NULLs (bulk imports) are filled in when the store opens.
ALTER TABLE file_versions ADD COLUMN custom_words TEXT;
UPDATE file_versions SET custom_words = ' ' WHERE custom_metadata = '{}';
CREATE INDEX file_versions_custom_words_pending ON file_versions (id) WHERE custom_words IS NULL;
