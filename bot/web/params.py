"""Reading a request's query parameters, each with its limit; what is wrong is a 400 naming the parameter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

MAX_QUERY = 300  # as /search and /paper: no title is longer, and the cost of a query grows with it
MAX_SOURCE = 100
MAX_PARAMETER = 2000  # any other parameter (a cursor)


class BadRequest(Exception):
    """A request the archive cannot answer as asked (400); the message names the parameter."""


class PageNotFound(Exception):
    """Nothing at this address (404); the message says what is missing."""


def text(query: Mapping[str, str], name: str, *, limit: int = MAX_PARAMETER, required: bool = False) -> str:
    value = query.get(name, "")
    if "\x00" in value:
        raise BadRequest(f"{name} holds a NUL character")
    if len(value) > limit:
        raise BadRequest(f"{name} is {len(value)} characters long; at most {limit} please")
    if required and not value.strip():
        raise BadRequest(f"{name} is empty: say what to look for, like ?{name}=diffusion+models")
    return value


def date(query: Mapping[str, str], name: str) -> dt.date | None:
    value = text(query, name, limit=10).strip()
    if not value:
        return None
    return parse_day(value, name)


def parse_day(value: str, name: str) -> dt.date:
    try:
        if len(value) != 10:
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} '{value[:20]}' is not a date like 2025-09-09") from None


def number(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = text(query, name, limit=6).strip()
    if not value:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}")
    return int(value)


def date_range(query: Mapping[str, str]) -> tuple[dt.date | None, dt.date | None]:
    since, until = date(query, "since"), date(query, "until")
    if since and until and since > until:
        raise BadRequest(f"since {since.isoformat()} is after until {until.isoformat()}")
    return since, until
