-- Users are found by email for global token revocation (RFC 9493 `email` subjects).
-- Stored lower-cased (written by the store from Python's str.lower()); an email need
-- not be unique, so the index is not either.
ALTER TABLE users ADD COLUMN email TEXT;
UPDATE users SET email = nullif(lower(trim(data::jsonb ->> 'email')), '');
CREATE INDEX users_by_email ON users (email) WHERE email IS NOT NULL;
