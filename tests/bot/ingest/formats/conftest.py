"""Helpers for the parser tests: run a parser over bytes or a fixture file and collect the batches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.ingest.formats import ParseContext, bytes_input, parse
from storage.records import ParsedDigest

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
TODAY = dt.date(2025, 9, 10)

Run = Callable[..., tuple[str, list[ParsedDigest]]]


def run_parser(data: bytes | Path, fmt: str | None = None, **ctx: Any) -> tuple[str, list[ParsedDigest]]:
    """Parse `data` (bytes, or a fixture path) and return the format and all batches."""
    raw = data.read_bytes() if isinstance(data, Path) else data
    name = data.name if isinstance(data, Path) else "input.txt"
    ctx.setdefault("today", TODAY)
    context = ParseContext(name=ctx.pop("name", name), **ctx)
    found, batches = parse(bytes_input(raw), context, fmt)
    return found, list(batches)


@pytest.fixture
def run() -> Run:
    return run_parser


@pytest.fixture
def fixture_path() -> Callable[[str], Path]:
    def find(name: str) -> Path:
        path = FIXTURES / name
        return path if path.exists() else FIXTURES / "ingest" / name

    return find
