-- Fuzzy title look-up: a saved image of the in-memory title index, so a process starts from it
-- and replays only the papers and title changes after it instead of re-reading every title.
-- A cache: deleting every row is always safe (the next start-up builds the index and saves anew).
-- Each part (vocabulary, postings, titles, per-id arrays, and `meta`: JSON with positions and
-- checksums) is split into chunks, keeping each blob well under SQLite's length limit.

CREATE TABLE title_snapshot (
    part  TEXT    NOT NULL,
    chunk INTEGER NOT NULL,
    data  BLOB    NOT NULL,
    PRIMARY KEY (part, chunk)
);
