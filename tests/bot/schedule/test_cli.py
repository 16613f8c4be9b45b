"""`paperboy schedule` and `paperboy posts`: settings round-trip, clear errors, the log as JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import schedule as schedule_cli
from bot.cli.common import CliContext, CliError
from bot.config import Settings
from storage import posts as post_repo
from storage.backends import open_database


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="paperboy")
    schedule_cli.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


async def run(tmp_path: Path, argv: list[str]) -> int:
    settings = Settings()
    settings.database.path = str(tmp_path / "paperboy.db")
    args = parse(argv)
    return await CliContext(settings=settings, args=args).run(args.handler)


def last_json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])

def json_lines(capsys: pytest.CaptureFixture[str]) -> list[Any]:
    """Every object printed (--json is JSON Lines: one object per line; earlier commands' text skipped)."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


async def test_set_then_change_then_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await run(tmp_path, ["schedule", "set", "123", "--channel", "456", "--time", "8:30", "--tz", "Europe/Berlin",
                         "--no-thread", "--role", "<@&789>", "--on-empty", "note"])
    await run(tmp_path, ["schedule", "set", "discord:123", "--time", "09:15", "--source", "hf-daily"])
    await run(tmp_path, ["schedule", "list", "--json"])
    [entry] = json_lines(capsys)
    assert {k: entry[k] for k in ("server", "channel", "time", "timezone", "thread", "role", "on_empty", "source",
                                  "paused")} == {
        "server": "discord:123", "channel": "discord:456", "time": "09:15", "timezone": "Europe/Berlin",
        "thread": False, "role": 789, "on_empty": "note", "source": "hf-daily", "paused": False}
    assert entry["next_post"] is not None


@pytest.mark.parametrize(("argv", "message"), [
    (["schedule", "set", "1", "--channel", "2", "--time", "25:00", "--tz", "UTC"], "time '25:00'"),
    (["schedule", "set", "1", "--channel", "2", "--time", "09:00", "--tz", "Mars/Olympus"], "Mars/Olympus"),
    (["schedule", "set", "1", "--time", "09:00"], "give its channel, time zone"),
    (["schedule", "set", "1", "--channel", "#general", "--time", "09:00", "--tz", "UTC"], "channel '#general'"),
    (["schedule", "pause", "discord:9"], "discord:9 has no schedule"),
])
async def test_bad_input_names_what_is_wrong(tmp_path: Path, argv: list[str], message: str) -> None:
    with pytest.raises(CliError, match=message.replace("(", r"\(")):
        await run(tmp_path, argv)


async def test_pause_resume_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await run(tmp_path, ["schedule", "set", "1", "--channel", "2", "--time", "09:00", "--tz", "UTC"])
    await run(tmp_path, ["schedule", "pause", "1"])
    await run(tmp_path, ["schedule", "list", "--json"])
    assert [s["paused"] for s in json_lines(capsys)] == [True]
    await run(tmp_path, ["schedule", "resume", "1"])
    await run(tmp_path, ["schedule", "remove", "1"])
    await run(tmp_path, ["schedule", "list", "--json"])
    assert json_lines(capsys) == []


async def test_posts_lists_the_log_and_an_operator_settles_an_unknown_post(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import datetime as dt
    async with await open_database(tmp_path / "paperboy.db") as db:
        row = await post_repo.claim(db, guild_id="discord:1", channel_id="discord:2", post_date=dt.date(2025, 9, 10),
                                    kind="digest", key="k", status="unknown", reason="interrupted")
    assert row is not None
    await run(tmp_path, ["posts", "--json"])
    [entry] = json_lines(capsys)
    assert (entry["server"], entry["channel"], entry["status"], entry["day"]) == (
        "discord:1", "discord:2", "unknown", "2025-09-10")
    await run(tmp_path, ["posts", "--resolve", str(row.id), "--as", "sent", "--json"])
    assert [p["status"] for p in json_lines(capsys)] == ["sent"]
    with pytest.raises(CliError, match="is not 'unknown' or 'failed'"):
        await run(tmp_path, ["posts", "--resolve", str(row.id), "--as", "retry"])
