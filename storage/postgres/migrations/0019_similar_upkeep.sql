-- As storage/sqlite/migrations/0019_similar_upkeep.sql: the text a paper's vector was made from
-- once it changes (so weighing it again keeps the document frequencies exact), and when each
-- member's weekly message is next due in their server's time zone.
CREATE TABLE similar_retired (
    paper_id bigint PRIMARY KEY REFERENCES papers(id) ON DELETE CASCADE,
    title    text NOT NULL,
    abstract text NOT NULL
);

CREATE FUNCTION paperboy_similar_retired() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM similar_vectors v WHERE v.paper_id = OLD.id) THEN
        INSERT INTO similar_retired (paper_id, title, abstract) VALUES (OLD.id, OLD.title, OLD.abstract)
            ON CONFLICT (paper_id) DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER similar_retired_update AFTER UPDATE OF title, abstract ON papers
    FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.abstract IS DISTINCT FROM NEW.abstract)
    EXECUTE FUNCTION paperboy_similar_retired();

ALTER TABLE recommend_weekly ADD COLUMN guild_id text;
ALTER TABLE recommend_weekly ADD COLUMN next_at timestamptz;
CREATE INDEX recommend_weekly_next ON recommend_weekly (next_at);
