"""`paperboy fetch` and `paperboy sources` against the loopback upstream."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import fetch as fetch_cli
from bot.cli import status as status_cli
from bot.cli.common import CliContext, CliError
from bot.config import Settings
from tests.bot.sources.upstream import Reply, Upstream, fixture_reply, hf_items, hf_page


def settings_for(tmp_path: Path, upstream: Upstream) -> Settings:
    settings = Settings()
    settings.database.path = str(tmp_path / "paperboy.db")
    f = settings.fetch
    f.hf_base_url = f.arxiv_rss_base_url = f.arxiv_api_base_url = upstream.url()
    f.request_interval_seconds = f.arxiv_api_interval_seconds = 0.0
    f.retries = 0
    f.arxiv_rss_categories = ["cs.LG"]
    return settings


async def run(settings: Settings, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="paperboy")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch_cli.register(commands)
    status_cli.register(commands)
    args = parser.parse_args(argv)
    return await CliContext(settings=settings, args=args).run(args.handler)


def last_json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])

def json_lines(capsys: pytest.CaptureFixture[str]) -> list[Any]:
    """Every object printed (--json is JSON Lines: one object per line; earlier commands' text skipped)."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


async def test_fetch_a_day_then_see_the_source_status(tmp_path: Path, upstream: Upstream,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    upstream.serve("/api/daily_papers?date=2024-07-09&limit=100&p=0", hf_page(hf_items()))
    upstream.serve("/api/daily_papers", hf_page([]))
    settings = settings_for(tmp_path, upstream)
    assert await run(settings, ["fetch", "hf-daily", "--date", "2024-07-09", "--json"]) == 0
    [outcome] = json_lines(capsys)
    assert {k: outcome[k] for k in ("source", "date", "status", "papers", "new")} == {
        "source": "hf-daily", "date": "2024-07-09", "status": "loaded", "papers": 5, "new": 5}
    assert await run(settings, ["sources", "--json"]) == 0
    [status] = json_lines(capsys)
    assert (status["source"], status["last_outcome"], status["last_date"], status["enabled"]) == (
        "hf-daily", "loaded", "2024-07-09", True)


async def test_a_backfill_prints_each_day_and_a_failure_sets_the_exit_status(
        tmp_path: Path, upstream: Upstream, capsys: pytest.CaptureFixture[str]) -> None:
    upstream.serve("/api/daily_papers?date=2024-07-08&limit=100&p=0", hf_page(hf_items()[:2]))
    upstream.serve("/api/daily_papers?date=2024-07-09&limit=100&p=0", Reply(status=500))
    upstream.serve("/api/daily_papers", hf_page([]))
    settings = settings_for(tmp_path, upstream)
    assert await run(settings, ["fetch", "--since", "2024-07-07", "--until", "2024-07-10"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == ["hf-daily 2024-07-07: nothing listed (expected on weekends and holidays)",
                                "hf-daily 2024-07-08: loaded, 2 papers (2 new)"]
    assert "hf-daily 2024-07-09:" in err and "HTTP 500" in err
    assert await run(settings, ["sources"]) == 0
    assert "1 failure in a row, backing off until" in capsys.readouterr().out
    # `paperboy status` shows the failing source too, and its exit status lets a monitor alert.
    assert await run(settings, ["status"]) == 1
    text = capsys.readouterr().out
    assert "\nSources\n  hf-daily: failed, last success" in text and "HTTP 500" in text
    assert "Last digest\n  hf-daily · 2024-07-08 · 2 papers" in text
    assert await run(settings, ["status", "--json"]) == 1
    report = last_json(capsys)
    assert [(s["source"], s["enabled"], s["consecutive_failures"], s["backing_off"])  # type: ignore[index]
            for s in report["sources"]] == [("hf-daily", True, 1, True)]  # type: ignore[index]
    assert report["last_digest"]["date"] == "2024-07-08"  # type: ignore[index]


async def test_rss_categories_are_named_by_prefix(tmp_path: Path, upstream: Upstream,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    upstream.serve("/rss/cs.LG", fixture_reply("arxiv-rss-sample.xml"))
    upstream.serve("/rss/cs.CL", fixture_reply("sources/arxiv-rss-cs.CL.xml"))
    settings = settings_for(tmp_path, upstream)
    assert await run(settings, ["fetch", "arxiv-rss", "--json"]) == 0
    assert [o["source"] for o in json_lines(capsys)] == ["arxiv-rss:cs.LG"]
    assert await run(settings, ["fetch", "arxiv-rss:cs.CL"]) == 0
    assert capsys.readouterr().out.startswith("arxiv-rss:cs.CL 2024-07-09: loaded, 1 papers")


@pytest.mark.parametrize(("argv", "message"), [
    (["fetch", "nope"], "unknown source 'nope'"),
    (["fetch", "arxiv-api"], "arxiv_api_query"),
    (["fetch", "--until", "2024-07-09"], "--until needs --since"),
    (["fetch", "--since", "2024-07-09", "--until", "2024-07-01"], "is after --until"),
])
async def test_bad_requests_name_what_is_wrong(tmp_path: Path, upstream: Upstream, argv: list[str],
                                               message: str) -> None:
    with pytest.raises(CliError, match=message):
        await run(settings_for(tmp_path, upstream), argv)
    assert upstream.requests == []


async def test_no_enabled_source_is_an_error(tmp_path: Path, upstream: Upstream) -> None:
    settings = settings_for(tmp_path, upstream)
    settings.fetch.hf_enabled = False
    with pytest.raises(CliError, match="no source is enabled"):
        await run(settings, ["fetch"])
