"""The data layer's exceptions, one tree.

    StorageError
    ├── SchemaTooNew          the database was written by a newer Paperboy
    ├── NotPaperboyDatabase   the file is damaged, not SQLite, or another application's database
    ├── BadAddress            a database address that is neither a path nor a usable URL
    ├── DatabaseUnavailable   locked, not writable, disk I/O error
    │   ├── DiskFull          the disk filled while writing
    │   └── ConnectionLost    the database server went away (restarting, shut down, unreachable)
    └── InputError            a digest that cannot be loaded
        ├── UnknownFormat     nothing recognises the content
        └── ParseError        a format recognised it but found something wrong

Every message is one line meant for a user: it names the input (file), and where it applies the
line or item and what was expected.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of every error the storage layer raises on purpose."""


class SchemaTooNew(StorageError):
    def __init__(self, found: int, known: int) -> None:
        # `found` is the highest recorded migration this build lacks: above `known`, or in a gap of
        # the bundled numbers (a migration a newer Paperboy added there).
        what = (f"the database schema is version {found} but this Paperboy knows up to {known}" if found > known
                else f"the database schema includes migration {found}, which this Paperboy (migrations up to "
                     f"{known}) does not have: a newer Paperboy wrote it")
        super().__init__(f"{what}; upgrade Paperboy or use another --db")
        self.found = found
        self.known = known


class NotPaperboyDatabase(StorageError):
    """The database file is damaged, is not an SQLite database, or belongs to another application.
    Found before anything is written to it (storage.sqlite.db), or when a read meets a damaged page."""


class BadAddress(StorageError):
    """A database address (--db, [database] url) that names no database Paperboy can open."""


class DatabaseUnavailable(StorageError):
    """The database cannot be used now (locked by another process, not writable, a disk I/O error)."""


class DiskFull(DatabaseUnavailable):
    """The disk filled while writing: the failed transaction was rolled back."""


class ConnectionLost(DatabaseUnavailable):
    """The connection to the database server was lost, or a new one refused: the server is
    restarting, was shut down, or cannot be reached. What the statement was doing was rolled back;
    the same call succeeds once the server is back (the PostgreSQL pool reconnects by itself)."""


class InputError(StorageError):
    """A digest that cannot be loaded. `where` is the file name or URL."""

    def __init__(self, where: str, message: str, *, line: int | None = None, item: int | None = None,
                 field: str | None = None) -> None:
        self.where = where
        self.line = line
        self.item = item
        self.field = field
        self.reason = message
        super().__init__(self._render())

    def _render(self) -> str:
        place = self.where
        if self.line is not None:
            place += f", line {self.line}"
        if self.item is not None:
            place += f", item {self.item}"
        if self.field is not None:
            place += f", field '{self.field}'"
        return f"{place}: {self.reason}"


class UnknownFormat(InputError):
    pass


class ParseError(InputError):
    pass
