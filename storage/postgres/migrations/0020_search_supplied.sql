-- papers.search stops being a generated column and is filled by a trigger unless the writer supplies
-- it, so that a bulk load can compute its new papers' vectors with parallel workers in one statement
-- before inserting them (storage/postgres/loader.py): the server's text parsing and stemming is most
-- of a load's time, and a generated column is computed by the inserting process alone. The stored
-- values do not change: the vector is the same function of title and abstract, recomputed whenever
-- either changes (DROP EXPRESSION keeps the stored vectors and rewrites nothing).
CREATE FUNCTION paperboy_search_vector(title text, abstract text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', abstract), 'B');

ALTER TABLE papers ALTER COLUMN search DROP EXPRESSION;

CREATE FUNCTION paperboy_search_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- An insert may bring its vector (computed by paperboy_search_vector); a changed text never keeps one.
    IF TG_OP = 'UPDATE' OR NEW.search IS NULL THEN
        NEW.search := paperboy_search_vector(NEW.title, NEW.abstract);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER papers_search_insert BEFORE INSERT ON papers
    FOR EACH ROW EXECUTE FUNCTION paperboy_search_fill();
CREATE TRIGGER papers_search_update BEFORE UPDATE OF title, abstract, search ON papers
    FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.abstract IS DISTINCT FROM NEW.abstract
                       OR OLD.search IS DISTINCT FROM NEW.search)
    EXECUTE FUNCTION paperboy_search_fill();
