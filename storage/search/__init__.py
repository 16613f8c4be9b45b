"""Keyword search over the archive: the query language (`query`) and the search itself (`fts`:
records, ranking and paging shared by both backends; the SQL is storage/sqlite/search/ and
storage/postgres/search.py)."""

from storage.search.query import MAX_WORDS, AnyOf, Query, QueryError, Term, parse

__all__ = ["MAX_WORDS", "AnyOf", "Query", "QueryError", "Term", "parse"]
