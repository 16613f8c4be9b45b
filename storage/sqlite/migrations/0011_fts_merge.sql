-- Full-text index merging tuned for bulk loads (FTS5 configuration only; no data changes).
-- Every statement that writes papers flushes a new index segment; FTS5 merges a level once it
-- holds `automerge` segments (default 4) and forces a merge at `crisismerge` (default 16). Merging
-- less eagerly cut a 100k-paper snapshot load by ~10-15% (bench/ingest.py), while the
-- bench's search queries on the resulting 100k index took the same time (within 5%), because
-- a bulk load's segments are large and few either way.
INSERT INTO papers_fts(papers_fts, rank) VALUES ('automerge', 16);
INSERT INTO papers_fts(papers_fts, rank) VALUES ('crisismerge', 64);
