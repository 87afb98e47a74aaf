-- The figures of a failure beside its code and message, as JSON: what a
-- full disk needed and had (the guide's §4.3 details), which backup to
-- restore from when the live database is damaged.
ALTER TABLE backups ADD COLUMN error_details TEXT;
