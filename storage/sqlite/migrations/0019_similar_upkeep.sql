-- Similar papers (issue #18), kept exact without a rebuild.
--
-- similar_retired keeps the text a paper's vector was made from once its title or abstract
-- changes, so that weighing it again takes its old terms out of the document frequencies before
-- counting its new ones (the counts then stay those of a fresh build). The first old text is kept
-- (the one counted); the row goes when the paper is weighed again.
CREATE TABLE similar_retired (
    paper_id INTEGER PRIMARY KEY REFERENCES papers(id) ON DELETE CASCADE,
    title    TEXT NOT NULL,
    abstract TEXT NOT NULL
);

CREATE TRIGGER similar_retired_update AFTER UPDATE OF title, abstract ON papers
WHEN (old.title IS NOT new.title OR old.abstract IS NOT new.abstract)
     AND EXISTS (SELECT 1 FROM similar_vectors v WHERE v.paper_id = old.id) BEGIN
    INSERT INTO similar_retired (paper_id, title, abstract) VALUES (old.id, old.title, old.abstract)
        ON CONFLICT (paper_id) DO NOTHING;
END;

-- The weekly "for you" message goes out on Monday morning in the time zone of the server where
-- the member opted in (its daily post's time and zone; none: 08:00 UTC). `next_at` is when the
-- member is next due (NULL: at once), so a round reads only the members due.
ALTER TABLE recommend_weekly ADD COLUMN guild_id TEXT;
ALTER TABLE recommend_weekly ADD COLUMN next_at TEXT;
CREATE INDEX recommend_weekly_next ON recommend_weekly(next_at);
