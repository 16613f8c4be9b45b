"""Paperboy's data layer: SQLite through one long-lived aiosqlite connection.

Nothing here imports `bot` or `discord`. All SQL lives in this package, behind small repository
functions, so another backend can be added without touching the assistant.
"""
