-- The daily summary's archive statistics: a phrase is "of the day" when a digest uses it more
-- than the archive does.

-- Per-term document counts read straight from papers_fts's index: always current, no storage.
-- Counting a term walks its whole doclist, so it is cheap for rare terms only.
CREATE VIRTUAL TABLE papers_vocab USING fts5vocab(papers_fts, 'row');

-- Document counts of the archive's common terms ("model", "train"), which cost tens of
-- milliseconds each to count at a million papers but change slowly. Filled as summaries count
-- them; a count is reused, scaled to the archive's size, until the archive grows by a fifth.
CREATE TABLE summary_term_counts (
    term           TEXT PRIMARY KEY,
    doc            INTEGER NOT NULL,   -- papers containing the term when counted
    archive_papers INTEGER NOT NULL,   -- archive size (storage.summary_stats.archive_size) then
    counted_at     TEXT NOT NULL
) WITHOUT ROWID;
