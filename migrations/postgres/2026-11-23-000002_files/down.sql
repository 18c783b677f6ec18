DROP TABLE jobs;
DROP TABLE upload_parts;
DROP TABLE upload_sessions;
DROP TABLE file_labels;
DROP TABLE files;
DROP TABLE blobs;
ALTER TABLE organizations DROP COLUMN storage_stored;
ALTER TABLE organizations DROP COLUMN storage_used;
