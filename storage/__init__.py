"""Paperboy's data layer: the archive on SQLite (the embedded default) or PostgreSQL.

Nothing here imports `bot` or `discord`. All SQL lives in this package, behind small repository
functions declared once (`storage/*.py`, with `@per_backend`) and written per backend side by side
(`storage/sqlite/`, `storage/postgres/`); `open_database(address)` (storage/backends.py) is the one
place a backend is chosen.
"""
