"""What a database address names: a SQLite file (a path, `sqlite:///PATH`) or a PostgreSQL server
(`postgresql://…`), whether Paperboy can open it, and how to show it without its password.

Plain text work, no backend imported: the configuration and the CLI read addresses without
opening anything, and asyncpg is never loaded for a SQLite file.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(address: str | Path) -> bool:
    """Whether `address` names a PostgreSQL server rather than a SQLite file."""
    return str(address).startswith(_POSTGRES_SCHEMES)


def address_problem(address: str) -> str | None:
    """Why `address` names no database Paperboy can open (None when it does): it must be a file
    path, `sqlite:///PATH`, or `postgresql://[user@]host[:port]/name`. Never shows a password."""
    text = address.strip()
    if not text:
        return "is empty"
    if is_postgres(text):
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises ValueError on a port that is not a number
        except ValueError:
            return "is not a usable PostgreSQL URL (postgresql://HOST:PORT/NAME): bad host or port"
        return None
    scheme = text.split("://", 1)[0] if "://" in text else ""
    if scheme and scheme != "sqlite":
        return f"is a {scheme}:// URL: use a file path, sqlite:///PATH or postgresql://host/name"
    return None


def url_without_password(url: str) -> str:
    """The URL without its password (user names stay: they help an operator)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=user + host))


def shown_address(address: str | Path) -> str:
    """`address` fit to show a user: a PostgreSQL URL without its password, a path as it is."""
    text = str(address)
    if not is_postgres(text):
        return sqlite_path(text)
    try:
        return url_without_password(text)
    except ValueError:  # unparseable (a bad port): drop the user info, where a password would be
        return re.sub(r"^([a-z]+://)[^/?#]*@", r"\1", text)


def sqlite_path(address: str | Path) -> str:
    """The file path of a SQLite address: a plain path, `sqlite:///abs/path` or `sqlite:rel/path`."""
    text = str(address)
    for prefix in ("sqlite:///", "sqlite://", "sqlite:"):
        if text.startswith(prefix):
            rest = text[len(prefix):]
            return "/" + rest if prefix == "sqlite:///" and not rest.startswith("/") else rest
    return text
