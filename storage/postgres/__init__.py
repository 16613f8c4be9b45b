"""PostgreSQL, the shared store for several Paperboy processes (issue #16): its connection pool,
migrations and SQL, beside the SQLite modules that hold the same data the same way."""
