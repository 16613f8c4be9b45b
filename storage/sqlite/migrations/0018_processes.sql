-- The processes sharing this database (issue #16): each `paperboy run` registers itself and
-- renews `heartbeat_at` every few seconds; a clean stop deletes its row. A row whose heartbeat is
-- older than the lease time is a process that died (shown as gone by `paperboy status`), and is
-- deleted after a while by whichever process holds the upkeep lease.
CREATE TABLE processes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: a lease names its holder by it
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    shards       TEXT,              -- the shard range it connects ("0-3"), NULL when unsharded
    command      TEXT NOT NULL,     -- "run"
    started_at   TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
);
-- Work that exactly one process does at a time (fetching, the upkeep): held by one process until
-- `expires_at`, renewed with its heartbeat; once expired, the next process to ask takes it.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      INTEGER NOT NULL,   -- processes.id (no foreign key: a pruned holder's lease simply expires)
    acquired_at TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
