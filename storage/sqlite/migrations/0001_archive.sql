-- The archive: papers, the digests that listed them, and full-text search over both texts.

CREATE TABLE papers (
    id           INTEGER PRIMARY KEY,
    arxiv_id     TEXT UNIQUE,                 -- without version; NULL when the source gave none
    title_key    TEXT NOT NULL,               -- normalised title: identity when arxiv_id is NULL
    title        TEXT NOT NULL,
    abstract     TEXT NOT NULL,
    authors      TEXT NOT NULL DEFAULT '[]',  -- JSON list of names
    links        TEXT NOT NULL DEFAULT '{}',  -- JSON object: kind -> URL
    categories   TEXT NOT NULL DEFAULT '[]',  -- JSON list, primary first
    keywords     TEXT NOT NULL DEFAULT '[]',  -- JSON list (Hugging Face ai_keywords)
    ai_summary   TEXT,
    published    TEXT,                        -- YYYY-MM-DD of the first version, when known
    first_listed TEXT NOT NULL,               -- YYYY-MM-DD of the earliest digest listing it
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX papers_title_key ON papers(title_key);
-- At most one id-less paper per title; lets loaders upsert id-less records.
CREATE UNIQUE INDEX papers_title_only ON papers(title_key) WHERE arxiv_id IS NULL;
CREATE INDEX papers_first_listed ON papers(first_listed);

CREATE TABLE digests (
    id           INTEGER PRIMARY KEY,
    source       TEXT NOT NULL,               -- "hf-daily", "arxiv-rss:cs.LG", ...
    date         TEXT NOT NULL,               -- YYYY-MM-DD
    format       TEXT NOT NULL,               -- the parser that loaded it last
    content_hash TEXT,                        -- of the last complete copy loaded
    paper_count  INTEGER NOT NULL DEFAULT 0,
    fetched_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (source, date)
);
CREATE INDEX digests_date ON digests(date);

CREATE TABLE digest_entries (
    digest_id INTEGER NOT NULL REFERENCES digests(id) ON DELETE CASCADE,
    paper_id  INTEGER NOT NULL REFERENCES papers(id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    upvotes   INTEGER,
    comments  INTEGER,
    PRIMARY KEY (digest_id, paper_id)
) WITHOUT ROWID;
CREATE INDEX digest_entries_paper ON digest_entries(paper_id);

-- External-content FTS5 index kept in sync by triggers (the sqlite-utils pattern).
CREATE VIRTUAL TABLE papers_fts USING fts5(
    title, abstract,
    content='papers', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers BEGIN
    INSERT INTO papers_fts(rowid, title, abstract) VALUES (new.id, new.title, new.abstract);
END;
CREATE TRIGGER papers_fts_delete AFTER DELETE ON papers BEGIN
    INSERT INTO papers_fts(papers_fts, rowid, title, abstract) VALUES ('delete', old.id, old.title, old.abstract);
END;
CREATE TRIGGER papers_fts_update AFTER UPDATE OF title, abstract ON papers
WHEN old.title IS NOT new.title OR old.abstract IS NOT new.abstract BEGIN
    INSERT INTO papers_fts(papers_fts, rowid, title, abstract) VALUES ('delete', old.id, old.title, old.abstract);
    INSERT INTO papers_fts(rowid, title, abstract) VALUES (new.id, new.title, new.abstract);
END;
