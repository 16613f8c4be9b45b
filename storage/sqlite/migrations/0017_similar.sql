-- Similar papers and recommendations (issue #18): a TF-IDF vector per paper, kept as its top terms.
--
-- similar_terms is the vocabulary (title + abstract unigrams and bigrams) with each term's
-- document frequency: how many indexed papers have it. Loads add to it for their new papers only.
-- similar_vectors holds each indexed paper's vector, its heaviest terms with weights scaled to
-- integers (1/10000) and unit length, packed as (term id, weight) pairs of 32-bit and 16-bit
-- unsigned integers; `docs` is the size of the corpus when it was weighed; `text_hash` tells a
-- paper whose title or abstract changed since. paper_terms is the same vectors inverted: per
-- term, its papers, heaviest first, so /similar reads the best postings of each term of a paper
-- and nothing else. A paper deleted (or folded into its twin) loses its vector at once; its
-- postings are left behind and skipped by every query (they name no vector any more).
CREATE TABLE similar_terms (
    id   INTEGER PRIMARY KEY,
    term TEXT NOT NULL UNIQUE,
    df   INTEGER NOT NULL
);

CREATE TABLE similar_vectors (
    paper_id  INTEGER PRIMARY KEY REFERENCES papers(id) ON DELETE CASCADE,
    terms     BLOB NOT NULL,
    docs      INTEGER NOT NULL,
    text_hash TEXT NOT NULL
);

CREATE TABLE paper_terms (
    term_id  INTEGER NOT NULL,
    weight   INTEGER NOT NULL,
    paper_id INTEGER NOT NULL,
    PRIMARY KEY (term_id, weight DESC, paper_id)
) WITHOUT ROWID;

-- The weekly "for you" message: who asked for it, and one row per member per week sent (the
-- idempotency key is "rec:<week>:<row>"). A row is written 'sending' before the message goes out
-- and 'sent' (or 'failed', 'unknown') after, so a restart neither repeats nor skips a week.
CREATE TABLE recommend_weekly (
    user_id    TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);

CREATE TABLE recommend_sends (
    id         INTEGER PRIMARY KEY,
    user_id    TEXT NOT NULL,
    week       TEXT NOT NULL,                 -- ISO week, "2025-W37"
    status     TEXT NOT NULL,                 -- sending, sent, failed, unknown
    papers     INTEGER NOT NULL DEFAULT 0,
    reason     TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (user_id, week)
);
CREATE INDEX recommend_sends_status ON recommend_sends(status);
