"""Fuzzy title look-up: an in-memory inverted index over normalised title words, kept in step with
the archive by polling (new papers by id, changed or deleted ones through a trigger-fed log).

`text` folds titles and queries to comparable words, `index` holds the postings and ranks
candidates, `sync` reads the rows from SQLite (all SQL lives there).
"""

from storage.titles.index import TitleIndex, TitleMatch
from storage.titles.sync import TitleIndexSync

__all__ = ["TitleIndex", "TitleIndexSync", "TitleMatch"]
