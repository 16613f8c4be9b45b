-- The daily post: each server's schedule settings and the post log that makes posting exactly-once.

CREATE TABLE guild_schedules (
    guild_id     TEXT PRIMARY KEY,            -- "discord:1234", "console:lab"
    channel_id   TEXT NOT NULL,
    post_time    TEXT NOT NULL,               -- HH:MM, the server's local wall-clock time
    timezone     TEXT NOT NULL,               -- IANA name, e.g. "Europe/Berlin"
    thread       INTEGER NOT NULL DEFAULT 1,  -- the full list goes in a thread under the post
    role_id      INTEGER,                     -- the role the post mentions, if any
    paused       INTEGER NOT NULL DEFAULT 0,
    on_empty     TEXT NOT NULL DEFAULT 'nothing' CHECK (on_empty IN ('nothing', 'note')),
    source       TEXT,                        -- digest source to post; NULL = the day's largest
    digest_day   TEXT NOT NULL DEFAULT 'today' CHECK (digest_day IN ('today', 'yesterday')),
    active_since TEXT NOT NULL,               -- created or last resumed: no post is owed before it
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

-- One row per server and local day: the UNIQUE key is what makes the daily post exactly-once.
CREATE TABLE posts (
    id              INTEGER PRIMARY KEY,
    guild_id        TEXT NOT NULL,
    channel_id      TEXT NOT NULL,
    post_date       TEXT NOT NULL,            -- YYYY-MM-DD, the server's local day of the post
    digest_id       INTEGER REFERENCES digests(id) ON DELETE SET NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('digest', 'note', 'none')),
    status          TEXT NOT NULL
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped', 'unknown')),
    reason          TEXT,                     -- why skipped, failed or unknown
    key             TEXT NOT NULL UNIQUE,     -- idempotency key (server, channel, digest), sent as a nonce
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,                     -- pending rows: not before this instant
    message_id      TEXT,                     -- set as soon as the main message is known to exist
    thread_id       TEXT,
    pages_sent      INTEGER NOT NULL DEFAULT 0,
    error           TEXT,                     -- the last send error, kept after a successful retry
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (guild_id, post_date)
);
CREATE INDEX posts_status ON posts(status) WHERE status IN ('pending', 'sending');
CREATE INDEX posts_date ON posts(post_date);
