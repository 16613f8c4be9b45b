"""`paperboy subscribe/unsubscribe/subscriptions/deliveries`: JSON contracts and clear refusals."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import subscriptions as sub_cli
from bot.cli.common import CliContext, CliError
from bot.config import Settings
from storage.backends import open_database
from tests.bot.subscriptions.helpers import PAPERS, digest, loader


async def run(tmp_path: Path, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="paperboy")
    sub_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    settings = Settings()
    settings.database.path = str(tmp_path / "paperboy.db")
    return await CliContext(settings=settings, args=args).run(args.handler)


def last_json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])

def json_lines(capsys: pytest.CaptureFixture[str]) -> list[Any]:
    """Every object printed (--json is JSON Lines: one object per line; earlier commands' text skipped)."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


async def test_subscribe_list_deliveries_unsubscribe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await run(tmp_path, ["subscribe", "console:alice", "Speculative Decoding", "--json"])
    out = last_json(capsys)
    assert out["saved"] and out["preview"]["matches"] == 0  # type: ignore[index]
    db = await open_database(tmp_path / "paperboy.db")
    try:
        await loader(db).load(digest(PAPERS))
    finally:
        await db.close()
    await run(tmp_path, ["deliveries", "--digest", "2025-09-09", "--status", "pending", "--json"])
    [row] = json_lines(capsys)
    assert {k: row[k] for k in ("kind", "user", "digest", "status", "papers")} == {
        "kind": "direct", "user": "console:alice", "digest": "2025-09-09", "status": "pending",
        "papers": [PAPERS[0].title]}
    await run(tmp_path, ["subscriptions", "console:alice", "--cap", "3", "--json"])
    listed = last_json(capsys)
    assert listed["preferences"]["cap"] == 3  # type: ignore[index]
    assert [s["topic"] for s in listed["subscriptions"]] == ["Speculative Decoding"]  # type: ignore[index]
    await run(tmp_path, ["subscriptions", "console:alice", "--why", "2501.00001", "--json"])
    [why] = json_lines(capsys)
    assert why["matches"] and why["delivery"] == row["id"]
    await run(tmp_path, ["unsubscribe", "console:alice", "decoding speculative"])
    assert "No longer following “Speculative Decoding”" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["subscribe", "console:alice", "a*"], "too short for a prefix"),
    (["subscribe", "alice", "decoding"], "is not an id like"),
    (["unsubscribe", "console:alice", "mamba"], "you do not follow “mamba”"),
    (["subscriptions", "--pause"], "name the USER"),
])
async def test_refusals_are_one_line_errors(tmp_path: Path, argv: list[str], message: str) -> None:
    with pytest.raises(CliError, match=message):
        await run(tmp_path, argv)
