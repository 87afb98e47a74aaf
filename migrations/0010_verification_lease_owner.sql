-- A verification's lease names its runner, as a backup's and a restore's do,
-- so that one lease module serves the three tables and a renewal by a
-- runner that lost the lease fails.
ALTER TABLE backup_integrity_checks ADD COLUMN lease_owner TEXT;
