-- Per-user topic subscriptions and the delivery log that makes their notifications exactly-once.

-- One row per user who ever subscribed: how and whether they want notifications.
CREATE TABLE subscription_users (
    user_id    TEXT PRIMARY KEY,              -- "discord:1234", "console:alice"
    paused     INTEGER NOT NULL DEFAULT 0,    -- pause/resume all of the user's topics
    delivery   TEXT NOT NULL DEFAULT 'direct' CHECK (delivery IN ('direct', 'channel')),
    fallback   INTEGER NOT NULL DEFAULT 1,    -- when the preferred way fails for good, try the other
    guild_id   TEXT,                          -- the server whose digest thread gets channel mentions
    cap        INTEGER,                       -- papers listed per notification; NULL = the configured default
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE subscriptions (
    id         INTEGER PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES subscription_users(user_id) ON DELETE CASCADE,
    topic      TEXT NOT NULL,                 -- as the user typed it, for display
    query      TEXT NOT NULL,                 -- canonical form (str(parse(topic))): the dedupe and match key
    created_at TEXT NOT NULL,
    UNIQUE (user_id, query)
);
-- Matching reads the distinct queries, then the subscribers of the ones that matched.
CREATE INDEX subscriptions_query ON subscriptions(query, user_id);

-- One notification: a user, a digest, how it is sent, and where it stands.
-- Status flow as in the post log: pending -> sending -> sent | failed; sending -> pending (retry);
-- a crash leaves 'sending', which recovery re-sends (keyed posts) or marks 'unknown'.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    user_id         TEXT NOT NULL,
    digest_id       INTEGER REFERENCES digests(id) ON DELETE SET NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('direct', 'channel')),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unknown')),
    reason          TEXT,                     -- why failed or unknown; how a fallback happened
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,                     -- pending rows: not before this instant
    channel_id      TEXT,                     -- channel deliveries: where it was posted
    message_id      TEXT,
    error           TEXT,                     -- the last send error, kept after a retry or fallback
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX deliveries_status ON deliveries(status) WHERE status IN ('pending', 'sending');
CREATE INDEX deliveries_digest ON deliveries(digest_id);
CREATE INDEX deliveries_user ON deliveries(user_id);

-- The papers of each notification. The primary key is the exactly-once rule: a user is told
-- about a paper once, whichever digest (or corrected copy of one) lists it again.
-- No foreign key to papers: the log keeps its record even if a paper is merged away.
CREATE TABLE delivery_papers (
    user_id     TEXT NOT NULL,
    paper_id    INTEGER NOT NULL,
    delivery_id INTEGER NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,             -- order in the notification (digest order)
    topics      TEXT NOT NULL,                -- JSON list of the canonical queries that matched it
    terms       TEXT NOT NULL,                -- JSON list of the matched terms, as the queries write them
    title       TEXT NOT NULL,                -- as it was when queued
    PRIMARY KEY (user_id, paper_id)
) WITHOUT ROWID;
CREATE INDEX delivery_papers_delivery ON delivery_papers(delivery_id, position);
CREATE INDEX delivery_papers_paper ON delivery_papers(paper_id);
