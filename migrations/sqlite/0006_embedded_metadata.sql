-- Metadata read from a version's bytes at upload (EXIF, IPTC, XMP, ICC; media/metadata.rs):
-- `embedded_metadata` is ImageKit's flat `embeddedMetadata` object, `media_metadata` the
-- parts of `GET /v1/files/{id}/metadata` that come from the bytes. NULL `media_metadata`:
-- never read (versions uploaded before this migration); it is read when first asked for.
ALTER TABLE file_versions ADD COLUMN embedded_metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE file_versions ADD COLUMN media_metadata TEXT;
