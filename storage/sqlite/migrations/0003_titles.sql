-- Fuzzy title look-up: a log of papers whose title (or listing date) changed or that were deleted,
-- so in-memory title indexes in any process catch up by polling. New papers need no log: they are
-- found by id above the highest id an index has seen.

CREATE TABLE title_changes (
    seq      INTEGER PRIMARY KEY,
    paper_id INTEGER NOT NULL
);

CREATE TRIGGER title_changes_update AFTER UPDATE OF title, first_listed ON papers
WHEN old.title IS NOT new.title OR old.first_listed IS NOT new.first_listed BEGIN
    INSERT INTO title_changes(paper_id) VALUES (new.id);
END;

CREATE TRIGGER title_changes_delete AFTER DELETE ON papers BEGIN
    INSERT INTO title_changes(paper_id) VALUES (old.id);
END;
