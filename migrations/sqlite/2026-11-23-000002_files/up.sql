-- Files, the blobs that hold their bytes (one per distinct content per
-- organization, reference counted), upload sessions, and the job queue.

-- Bytes of all files not yet purged (what the quota counts) and bytes
-- actually stored (each distinct content once).
ALTER TABLE organizations ADD COLUMN storage_used BIGINT NOT NULL DEFAULT 0;
ALTER TABLE organizations ADD COLUMN storage_stored BIGINT NOT NULL DEFAULT 0;

CREATE TABLE blobs (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    storage_key TEXT NOT NULL,
    ref_count BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, sha256)
);
CREATE UNIQUE INDEX blobs_key ON blobs (storage_key);

CREATE TABLE files (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    declared_content_type TEXT NOT NULL,
    detected_content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    uploader_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);
-- Listing pages by cursor over live files: newest first, or by name.
CREATE INDEX files_live_created ON files (org_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX files_live_name ON files (org_id, name, id) WHERE deleted_at IS NULL;
CREATE INDEX files_blob ON files (org_id, sha256);

CREATE TABLE file_labels (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    file_id TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (file_id, key)
);
CREATE INDEX file_labels_lookup ON file_labels (org_id, key, value);

CREATE TABLE upload_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    uploader_id TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    expected_size BIGINT,
    expected_sha256 TEXT,
    labels TEXT NOT NULL,
    received BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

CREATE TABLE upload_parts (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    session_id TEXT NOT NULL REFERENCES upload_sessions (id) ON DELETE CASCADE,
    start_offset BIGINT NOT NULL,
    size BIGINT NOT NULL,
    storage_key TEXT NOT NULL,
    PRIMARY KEY (session_id, start_offset)
);

-- Work the server does later, on any instance: each job names its
-- organization and target and re-checks them before acting.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    org_id TEXT,
    target TEXT NOT NULL,
    run_at TIMESTAMP NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    locked_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX jobs_due ON jobs (run_at);
