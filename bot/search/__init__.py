"""Keyword search (`/search`, `paperboy search`, the web archive's search): user text and filters
in, a plain result out.

- `service.py`: the feature as the commands use it: the query parsed, run, and its hits' titles
  shown with their matches marked.

The query language, ranking and paging are `storage/search/`; each backend's index SQL sits in
`storage/sqlite/search/` and `storage/postgres/search.py`.
"""
