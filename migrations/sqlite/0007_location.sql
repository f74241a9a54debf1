-- Where a version was made, from its embedded GPS tags (model/geo.rs), for
-- "embeddedMetadata.LocationTaken": degrees, and the unit vector that lets SQL test a
-- great-circle distance with a dot product. NULL: the metadata says nothing of it.
ALTER TABLE file_versions ADD COLUMN gps_lat REAL;
ALTER TABLE file_versions ADD COLUMN gps_lng REAL;
ALTER TABLE file_versions ADD COLUMN gps_x REAL;
ALTER TABLE file_versions ADD COLUMN gps_y REAL;
ALTER TABLE file_versions ADD COLUMN gps_z REAL;
CREATE INDEX file_versions_gps_lat ON file_versions (gps_lat) WHERE gps_lat IS NOT NULL;
-- Versions whose metadata was stored before these columns (and images, which now get a
-- perceptual hash, `pHash`) are read again from their bytes by the metadata backfill
-- (App::backfill_metadata), which fills these columns too.
UPDATE file_versions SET media_metadata = NULL
 WHERE embedded_metadata LIKE '%GPS%' OR file_type = 'image';
CREATE INDEX file_versions_unread ON file_versions (id) WHERE media_metadata IS NULL;
