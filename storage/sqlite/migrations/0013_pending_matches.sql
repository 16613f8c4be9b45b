-- Digests whose subscribers' notifications are still to be queued. A load that is news writes one
-- row in its own transaction (so it is never lost), and matching runs after the commit: the
-- subscribers are queued in batches, each in its own short transaction that also moves
-- `done_through` on; the last batch deletes the row. A row left by a crash is resumed at start-up.
-- Re-running a batch queues nothing twice: delivery_papers' key (user, paper) is checked inside it.
CREATE TABLE pending_matches (
    id           INTEGER PRIMARY KEY,
    digest_id    INTEGER NOT NULL REFERENCES digests(id) ON DELETE CASCADE,
    paper_ids    TEXT NOT NULL,     -- JSON list: the papers the load listed (LoadResult.paper_ids)
    done_through TEXT,              -- the last user, in user id order, whose batch is queued
    created_at   TEXT NOT NULL
);
CREATE INDEX pending_matches_digest ON pending_matches(digest_id);
