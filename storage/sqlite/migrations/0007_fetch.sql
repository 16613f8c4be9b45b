-- Fetching digests from their sources: cache validators per URL, each source's health, and which
-- (source, day) pairs are done (the progress a backfill resumes from).

-- The ETag / Last-Modified of the last body that was loaded; sent back as If-None-Match /
-- If-Modified-Since so an unchanged digest costs a 304. Saved only after the load committed.
CREATE TABLE fetch_validators (
    url           TEXT PRIMARY KEY,
    etag          TEXT,
    last_modified TEXT,
    items         INTEGER,                    -- items in that body (a 304'd page's length, for paging)
    updated_at    TEXT NOT NULL
);

-- One row per source ("hf-daily", "arxiv-rss:cs.LG", "arxiv-api", "inbox").
CREATE TABLE fetch_sources (
    source               TEXT PRIMARY KEY,
    last_attempt_at      TEXT,
    last_success_at      TEXT,
    last_failure_at      TEXT,
    last_outcome         TEXT,                -- loaded, unchanged, empty, not-yet, failed
    last_error           TEXT,                -- the last failure's one-line message
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    backoff_until        TEXT,                -- the poller skips the source before this instant
    last_date            TEXT                 -- the newest digest date loaded from it
);

-- One row per source and digest day that was fetched: done rows are skipped by a resumed backfill.
CREATE TABLE fetch_days (
    source     TEXT NOT NULL,
    date       TEXT NOT NULL,                 -- YYYY-MM-DD
    status     TEXT NOT NULL CHECK (status IN ('loaded', 'empty', 'failed')),
    papers     INTEGER NOT NULL DEFAULT 0,
    attempts   INTEGER NOT NULL DEFAULT 0,
    error      TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (source, date)
) WITHOUT ROWID;
