-- Papers' abstracts and search vectors are compressed with lz4 rather than pglz when a row is too
-- big to keep as it is (an abstract of ~1.3 KB beside its ~1.8 KB vector, kept in the row): pglz's
-- compression was a tenth of the server's CPU in a bulk load (perf, bench/README.md "Bulk load on
-- PostgreSQL"), lz4 compresses several times faster. Only values written from now on use it; the
-- stored ones stay readable as they are. A server built without lz4 keeps pglz.
DO $$
BEGIN
    ALTER TABLE papers ALTER COLUMN abstract SET COMPRESSION lz4, ALTER COLUMN search SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END $$;
