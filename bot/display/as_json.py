"""Paperboy's JSON, the same from `--json` on the command line and from the web archive's API:
text as Unicode (not escaped), dates and times in ISO 8601."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any


def json_text(obj: Any) -> str:
    """`obj` as one line of JSON."""
    return json.dumps(obj, ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
