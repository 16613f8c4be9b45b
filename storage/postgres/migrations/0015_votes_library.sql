-- As storage/sqlite/migrations/0015_votes_library.sql: one vote per member per paper per server
-- (the primary key; concurrent presses insert ON CONFLICT DO NOTHING), and each user's library.
CREATE TABLE votes (
    guild_id   text NOT NULL,
    paper_id   bigint NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    user_id    text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (guild_id, paper_id, user_id)
);
CREATE INDEX votes_guild_time ON votes (guild_id, created_at);
CREATE INDEX votes_user ON votes (user_id, created_at);
CREATE INDEX votes_paper ON votes (paper_id);

CREATE INDEX digest_entries_upvoted ON digest_entries (paper_id, upvotes) WHERE upvotes IS NOT NULL;

CREATE TABLE library (
    user_id  text NOT NULL,
    paper_id bigint NOT NULL REFERENCES papers (id) ON DELETE CASCADE,
    saved_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, paper_id)
);
CREATE INDEX library_paper ON library (paper_id);
CREATE INDEX library_user_time ON library (user_id, saved_at);
