-- Community signals and personal libraries (issue #18): a member's vote for a paper in one server,
-- and the papers a user saved.
--
-- One vote per member per paper per server: the primary key is the rule, so two presses racing
-- each other insert one row (the loser's insert is ignored and it reports the vote as already
-- there). A vote is taken back by deleting its row. Papers folded into a twin (the loader's
-- merge) take their votes and saves along; a deleted paper takes them with it.
CREATE TABLE votes (
    guild_id   TEXT NOT NULL,                 -- "discord:456", "console:lab"
    paper_id   INTEGER NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,                 -- "discord:123", "console:alice"
    created_at TEXT NOT NULL,
    PRIMARY KEY (guild_id, paper_id, user_id)
) WITHOUT ROWID;
-- /top: a server's votes of a period; recommendations: one user's votes.
CREATE INDEX votes_guild_time ON votes(guild_id, created_at);
CREATE INDEX votes_user ON votes(user_id, created_at);
CREATE INDEX votes_paper ON votes(paper_id);

-- /top's source upvotes of all time: only the listings that have upvotes (Hugging Face's), each
-- paper's together, without reading the rest (arXiv feeds, the snapshot's millions).
CREATE INDEX digest_entries_upvoted ON digest_entries(paper_id, upvotes) WHERE upvotes IS NOT NULL;

-- A user's library: the papers they saved, wherever they saved them (it follows the user, not a server).
CREATE TABLE library (
    user_id  TEXT NOT NULL,
    paper_id INTEGER NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
    saved_at TEXT NOT NULL,
    PRIMARY KEY (user_id, paper_id)
) WITHOUT ROWID;
CREATE INDEX library_paper ON library(paper_id);
CREATE INDEX library_user_time ON library(user_id, saved_at);
