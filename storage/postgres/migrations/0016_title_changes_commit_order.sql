-- Title look-up across processes: every index, in any process, must see every paper and title
-- change once committed. On SQLite one writer at a time commits ids and log rows in order, so a
-- reader's "ids above the highest I saw" and "log rows after the last I read" miss nothing. Here
-- several transactions write at once and commit in any order: paper ids and log sequence numbers
-- are taken when a row is written, so a smaller one can become visible after a larger one was
-- read. Hence:
-- - new papers are logged too (one row per statement: the range of ids it inserted, so a COPY of
--   a million papers costs one row), and a reader re-reads the papers of a range it has passed;
-- - readers follow `pos`, not `seq`: a reader stamps the committed rows still without one, under
--   an advisory lock, in a transaction it commits before the next reader may stamp; so `pos`
--   grows in the order rows became visible, and no row gets a `pos` below one already read.
ALTER TABLE title_changes ADD COLUMN through_id bigint;  -- NULL: one paper; else papers paper_id..through_id were inserted
ALTER TABLE title_changes ADD COLUMN pos bigint;
CREATE SEQUENCE title_changes_pos AS bigint;
CREATE UNIQUE INDEX title_changes_by_pos ON title_changes (pos);
CREATE INDEX title_changes_unstamped ON title_changes (seq) WHERE pos IS NULL;

CREATE FUNCTION paperboy_papers_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO title_changes (paper_id, through_id) SELECT min(id), max(id) FROM inserted HAVING count(*) > 0;
    IF FOUND THEN
        PERFORM pg_notify('paperboy_titles', '');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER title_changes_insert AFTER INSERT ON papers REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION paperboy_papers_inserted();
