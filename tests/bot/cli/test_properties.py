"""Properties through the real CLI (issue #12): every format, every numeric and date field at its
extremes, and `--date` too: `paperboy ingest` loads, clamps, or refuses with a one-line message,
never an internal error, and what it stores is within the ingest bounds."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import sqlite3
import tempfile
from contextlib import closing, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import main
from bot.ingest.formats import bounds

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SEED = {
    "hf-api": (FIXTURES / "hf-daily-papers-api-sample.json").read_text(),
    "hf-page": (FIXTURES / "ingest" / "hf-page-noisy-jan-29.txt").read_text(),
    "arxiv-rss": (FIXTURES / "arxiv-rss-sample.xml").read_text(),
    "arxiv-atom": (FIXTURES / "arxiv-api-sample.xml").read_text(),
    "arxiv-snapshot": (FIXTURES / "ingest" / "arxiv-snapshot-sample.jsonl").read_text(),
    "paperboy-jsonl": (FIXTURES / "ingest" / "paperboy-export-sample.jsonl").read_text(),
}
# Few examples: each is a whole `paperboy ingest` on a new database (about a second).
CHECK = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))

NUMBERS = st.one_of(
    st.sampled_from([0, -1, 1, 10**30, -(10**30), 2**63, 2**63 - 1, -(2**63) - 1, 10**400]),
    st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.none(), st.booleans())
TODAY = dt.date.today()
YEARS = st.sampled_from([1, 1000, 1990, 1991, 2024, TODAY.year, TODAY.year + 1, 9999])
ISO_DAYS = st.one_of(
    st.sampled_from(["0001-01-01", "1991-07-31", "1991-08-01", "9999-12-31", "2024-02-30", "10000-01-01",
                     (TODAY + dt.timedelta(days=2)).isoformat(), (TODAY + dt.timedelta(days=3)).isoformat()]),
    st.dates().map(dt.date.isoformat))
RFC822 = st.builds(lambda day, year, zone: f"Mon, {day:02d} Jul {year:04d} 00:00:00 {zone}",
                   st.integers(1, 31), YEARS, st.sampled_from(["+0000", "-0400", "+1400", "-2359"]))
COUNT_TEXT = st.one_of(st.integers(0, 10**40).map(str), st.sampled_from(["99999999999999999999k", "1.5k", "0"]))


def ingest(text: str, *argv: str) -> tuple[int, str, str, Path]:
    folder = Path(tempfile.mkdtemp(prefix="paperboy-prop-"))
    source, db = folder / "input", folder / "p.db"
    source.write_text(text, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            status = main(["--db", str(db), "ingest", str(source), *argv])
        except SystemExit as exc:  # argparse refusing an argument: a usage message, status 2
            status = int(str(exc.code))
    return status, out.getvalue(), err.getvalue(), db


def check(text: str, *argv: str) -> None:
    status, out, err, db = ingest(text, *argv)
    assert status in (0, 1, 2), (status, err)
    assert "internal error" not in err + out and "Traceback" not in err, err
    if status == 2:
        assert "paperboy ingest: error: argument --date" in err
        return
    assert all(line.startswith(("paperboy: ", "  note: ")) for line in err.splitlines()), err
    if not db.exists():
        return
    with closing(sqlite3.connect(db)) as conn:
        for upvotes, comments, position in conn.execute("SELECT upvotes, comments, position FROM digest_entries"):
            assert upvotes is None or 0 <= upvotes <= bounds.MAX_COUNT
            assert comments is None or 0 <= comments <= bounds.MAX_COUNT
            assert 0 <= position <= bounds.MAX_POSITION
        for (day,) in conn.execute("SELECT date FROM digests"):
            assert bounds.date_problem(dt.date.fromisoformat(day), TODAY) is None


def dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=True)


@CHECK
@given(upvotes=NUMBERS, comments=NUMBERS, published=ISO_DAYS, date=st.none() | ISO_DAYS)
def test_hf_api_numbers_and_dates(upvotes: Any, comments: Any, published: str, date: str | None) -> None:
    items = json.loads(SEED["hf-api"])
    items[0]["paper"]["upvotes"] = upvotes
    items[0]["numComments"] = comments
    items[1]["publishedAt"] = f"{published}T00:00:00.000Z"
    check(dumps(items), *(["--date", date] if date else []))


@CHECK
@given(position=NUMBERS, upvotes=NUMBERS, comments=NUMBERS, version=NUMBERS, date=ISO_DAYS, published=ISO_DAYS)
def test_export_numbers_and_dates(position: Any, upvotes: Any, comments: Any, version: Any, date: str,
                                  published: str) -> None:
    lines = [json.loads(line) for line in SEED["paperboy-jsonl"].splitlines() if line.strip()]
    lines[0]["listings"][0].update(position=position, upvotes=upvotes, comments=comments, date=date)
    lines[-1]["published"] = published
    lines[-1]["paperboy_export"] = version
    check("\n".join(dumps(line) for line in lines) + "\n")


@CHECK
@given(created=RFC822, update=ISO_DAYS, number_id=NUMBERS)
def test_snapshot_dates_and_ids(created: str, update: str, number_id: Any) -> None:
    lines = [json.loads(line) for line in SEED["arxiv-snapshot"].splitlines() if line.strip()]
    lines[0]["versions"][0]["created"] = created.replace(" +", " GMT +")
    lines[1]["versions"] = []
    lines[1]["update_date"] = update
    lines[-1]["id"] = number_id
    check("\n".join(dumps(line) for line in lines) + "\n")


@CHECK
@given(count=COUNT_TEXT, year=YEARS)
def test_hf_page_counts_and_dates(count: str, year: int) -> None:
    text = SEED["hf-page"].replace("\n42\n", f"\n{count}\n", 1).replace("\nJan 26\n", f"\nJan 26, {year}\n", 1)
    check(text.replace("\nJan 29\n", f"\nJan 29, {year:04d}\n", 1))


@CHECK
@given(date=RFC822)
def test_rss_dates(date: str) -> None:
    check(re.sub(r"<pubDate>[^<]*</pubDate>", f"<pubDate>{date}</pubDate>", SEED["arxiv-rss"]))


@CHECK
@given(published=ISO_DAYS, updated=ISO_DAYS, total=NUMBERS)
def test_atom_dates_and_numbers(published: str, updated: str, total: Any) -> None:
    text = re.sub(r"<published>[^<]*</published>", f"<published>{published}T00:00:00Z</published>", SEED["arxiv-atom"])
    text = re.sub(r"<updated>[^<]*</updated>", f"<updated>{updated}T00:00:00Z</updated>", text)
    check(re.sub(r"<opensearch:totalResults>[^<]*<", f"<opensearch:totalResults>{total}<", text))
