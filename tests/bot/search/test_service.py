"""The assistant's search service and the `paperboy search` command (text, JSON, one query per line)."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json

import pytest

from bot.cli.common import CliContext
from bot.cli.search import register, run_search
from bot.config import Settings
from bot.search.service import QueryError, SearchFilters, mark, search
from storage.db import Database
from storage.loader import Loader
from storage.records import PaperRecord, ParsedDigest
from storage.search.fts import Marked

DAY = dt.date(2025, 9, 9)


@pytest.fixture
async def archive(db: Database) -> Database:
    await Loader(db).load(ParsedDigest("hf-daily", DAY, "hf-api", [
        PaperRecord("World Models for Agents", "Agents learn a **world** model.", "2509.00001",
                    links={"arxiv": "https://arxiv.org/abs/2509.00001"}),
        PaperRecord("Sparse Attention", "Attention over long contexts, with a world of tricks.", None),
        PaperRecord("Graph Networks", "Message passing.", "2509.00003"),
    ]))
    return db


async def test_search_returns_canonical_query_and_count_text(archive: Database) -> None:
    result = await search(archive, 'world  -"graph   networks', limit=1)
    assert result.query == 'world -"graph networks"'
    assert (result.count, result.count_text, result.exact) == (2, "2", True)
    assert len(result.hits) == 1 and result.next_cursor


@pytest.mark.parametrize(("text", "kwargs", "message"), [
    ("-world", {}, "only -exclusions"),
    ("world", {"filters": SearchFilters(since=DAY, until=DAY - dt.timedelta(days=1))}, "is after"),
    ("world", {"limit": 0}, "between 1 and"),
    ("world", {"cursor": "nonsense"}, "not valid"),
])
async def test_unusable_requests_raise_query_error(archive: Database, text: str, kwargs: dict[str, object],
                                                   message: str) -> None:
    with pytest.raises(QueryError, match=message):
        await search(archive, text, **kwargs)  # type: ignore[arg-type]


def test_mark_escapes_text_but_not_the_markers() -> None:
    marked = Marked("a *b* c", ((3, 4),))
    assert mark(marked, "**", "**", lambda s: s.replace("*", "\\*")) == "a \\***b**\\* c"
    assert mark(Marked("plain"), "[", "]") == "plain"


def _ctx(db_path: str, argv: list[str]) -> CliContext:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    settings = Settings()
    settings.database.path = db_path
    return CliContext(settings=settings, args=parser.parse_args(["search", *argv]))


async def _run(db: Database, argv: list[str], capsys: pytest.CaptureFixture[str],
               monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    status = await _ctx(db.path, argv).run(run_search)
    out = capsys.readouterr()
    return status, out.out, out.err


async def test_cli_text_output_numbers_hits_with_date_and_marked_snippet(
        archive: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    status, out, _ = await _run(archive, ["world", "--limit", "1"], capsys, monkeypatch)
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "2 papers match world"
    assert lines[1] == "  1. World Models for Agents"  # plain: standard output is not a terminal
    assert lines[2].startswith("     2025-09-09  arXiv 2509.00001  score ")
    assert lines[3] == "     Agents learn a **world** model."  # the abstract's own asterisks
    assert lines[-1].startswith("more: paperboy search --limit 1 --cursor ") and lines[-1].endswith(" 'world'")


async def test_cli_json_lines_one_per_query_in_order_and_errors_do_not_stop(
        archive: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    status, out, err = await _run(archive, ["-", "--json"], capsys, monkeypatch,
                                  stdin="world\n-world\n\nattention --x\nnothingmatches\n")
    answers = [json.loads(line) for line in out.splitlines()]
    assert [a["query"] for a in answers] == ["world", "-world", "", "attention --x", "nothingmatches"]
    assert "error" in answers[1] and "error" in answers[2]
    first = answers[0]
    assert (first["count"], first["count_is_lower_bound"]) == (2, False)
    assert first["next_cursor"] is None
    hit = first["hits"][0]
    assert {"title", "arxiv_id", "dates", "score", "snippet", "snippet_spans", "links"} <= hit.keys()
    assert hit["dates"] == ["2025-09-09"]
    assert answers[1 + 2]["hits"][0]["arxiv_id"] is None  # "attention --x": the id-less paper
    assert answers[4]["hits"] == [] and answers[4]["count"] == 0
    assert status == 1 and err == ""


async def test_cli_filters_and_cursor(archive: Database, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _, out, _ = await _run(archive, ["world", "--json", "--limit", "1"], capsys, monkeypatch)
    cursor = json.loads(out)["next_cursor"]
    _, out, _ = await _run(archive, ["world", "--json", "--limit", "1", "--cursor", cursor], capsys, monkeypatch)
    assert json.loads(out)["hits"][0]["title"] == "Sparse Attention"
    _, out, _ = await _run(archive, ["world", "--json", "--date", "2025-09-10"], capsys, monkeypatch)
    assert json.loads(out)["hits"] == []
    _, out, _ = await _run(archive, ["world", "--json", "--source", "hf-daily", "--since", "2025-09-01"],
                           capsys, monkeypatch)
    assert json.loads(out)["count"] == 2


async def test_cli_bad_query_is_one_line_on_stderr(archive: Database, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    status, out, err = await _run(archive, ["🙂"], capsys, monkeypatch)
    assert (status, out) == (1, "")
    assert err == "paperboy: nothing to search for: type some words (letters or digits)\n"
