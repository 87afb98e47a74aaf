-- Server-side revocation: a token carries its user's token_version, which a password change
-- increments, so every token issued before the change stops working at once.
ALTER TABLE users ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0;
