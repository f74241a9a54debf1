-- The derived-image cache (app/derived.rs): a transformation of a version's bytes, rendered
-- once and kept as a blob of its own. Keyed by the source blob and the transformation's
-- canonical spelling with its output format, so every node of a scale-out setup shares it.
-- `used_at` is coarse (refreshed at most hourly) and orders eviction; a derived blob stays
-- while a row references it, and the blob sweeper collects it after.
CREATE TABLE derived_images (
    source_blob TEXT NOT NULL,
    transform   TEXT NOT NULL,
    blob_hash   TEXT NOT NULL,
    size        INTEGER NOT NULL,
    mime        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    used_at     INTEGER NOT NULL,
    PRIMARY KEY (source_blob, transform)
);
CREATE INDEX derived_images_blob ON derived_images (blob_hash);
CREATE INDEX derived_images_used ON derived_images (used_at);
