-- Facts about the store itself, written once: `master_key_check` records which master
-- key the data was initialised with (an HMAC of a fixed label under a key derived from
-- it, never the key), so a node started with another key is told so at start-up instead
-- of failing to decrypt (crypto.py, startup.py).
CREATE TABLE IF NOT EXISTS store_facts (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
