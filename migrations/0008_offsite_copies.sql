-- Copies of backups in an S3-compatible bucket (off the host).
-- Independent of `backups`: an offsite copy has its own retention and may
-- outlive the local file and its record, so it carries what a restore from
-- the bucket needs (checksums, sizes) on its own.
CREATE TABLE offsite_copies (
    backup_id       TEXT    PRIMARY KEY,
    backup_type     TEXT    NOT NULL,
    started_at      TEXT    NOT NULL,
    -- uploading: an upload started and has not been checked yet
    -- stored:    the object's SHA-256, read back from the bucket, matched
    -- failed:    the last try failed and no more are left (see last_error)
    -- deleting:  retention removes it; the record goes once the object is gone
    state           TEXT    NOT NULL CHECK (state IN ('uploading', 'stored', 'failed', 'deleting')),
    object_key      TEXT    NOT NULL,
    -- what the local backup file holds (`sha256:<hex>` of the .db.gz and of the database)
    checksum        TEXT    NOT NULL,
    raw_checksum    TEXT,
    file_size       INTEGER NOT NULL,
    original_size   INTEGER,
    -- the object as stored: its size and SHA-256 (differs from the file's when encrypted)
    object_size     INTEGER,
    object_checksum TEXT,
    -- the age recipient (public key) the object is encrypted to; NULL: plain gzip
    encrypted_to    TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    uploaded_at     TEXT,
    -- the last read-back check of the object, and what it found
    checked_at      TEXT,
    check_result    TEXT    CHECK (check_result IN ('pass', 'fail')),
    check_detail    TEXT,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);
CREATE INDEX offsite_copies_state ON offsite_copies (state, started_at);
