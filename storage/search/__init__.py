"""Keyword search over the archive: the query language (`query`) and the FTS5 search (`fts`)."""

from storage.search.query import MAX_WORDS, AnyOf, Query, QueryError, Term, parse

__all__ = ["MAX_WORDS", "AnyOf", "Query", "QueryError", "Term", "parse"]
