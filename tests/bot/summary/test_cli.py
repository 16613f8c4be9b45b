"""`paperboy digest`: the summary as text or JSON; a clear error when there is no such digest."""

from __future__ import annotations

import argparse
import json

import pytest

from bot.cli.common import CliContext, CliError
from bot.cli.summary import register, run_digest
from bot.config import Settings
from storage.db import Database
from storage.records import DigestInfo


def _ctx(db: Database, argv: list[str]) -> CliContext:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    settings = Settings()
    settings.database.path = db.path
    return CliContext(settings=settings, args=parser.parse_args(["digest", *argv]))


async def test_text_by_default_and_json_on_request(db: Database, sample: DigestInfo,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert await _ctx(db, ["--highlights", "2"]).run(run_digest) == 0
    text = capsys.readouterr().out
    assert text.startswith("hf-daily · Tue 9 Sep 2025: 144 papers")
    assert "Highlights (by source order)\n1. Unified Multivariate" in text and "\n3. " not in text
    assert await _ctx(db, ["--json", "--date", "2025-09-09", "--source", "hf-daily"]).run(run_digest) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["date"], data["papers"], len(data["highlights"])) == ("2025-09-09", 144, 5)


@pytest.mark.parametrize(("argv", "message"), [
    (["--date", "2024-01-01"], "no digest for 2024-01-01"),
    (["--source", "arxiv-rss:cs.LG"], "no digest from arxiv-rss:cs.LG"),
])
async def test_missing_digest_is_a_one_line_error(db: Database, sample: DigestInfo, argv: list[str],
                                                  message: str) -> None:
    with pytest.raises(CliError, match=message) as caught:
        await _ctx(db, argv).run(run_digest)
    assert caught.value.status == 1


async def test_empty_archive_says_how_to_fill_it(db: Database) -> None:
    with pytest.raises(CliError, match="no digest stored yet"):
        await _ctx(db, []).run(run_digest)
