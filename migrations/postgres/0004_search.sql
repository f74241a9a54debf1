-- The words of a version's tags and AI tag names (" red summer sale "), lowercased, for
-- `tags HAS`: SQL cannot cut arbitrary text into words the way the query language does, so
-- the store writes them with the tags. NULL until computed: rows from before this migration
-- (and bulk imports) are filled in by the store when it opens, found through the partial index.
ALTER TABLE file_versions ADD COLUMN tag_words TEXT;
CREATE INDEX file_versions_tag_words_pending ON file_versions (id) WHERE tag_words IS NULL;
