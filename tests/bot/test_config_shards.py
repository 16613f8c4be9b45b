"""`[discord] shard_ids` / `shard_count`, their environment variables and `paperboy run --shards
--shard-count`: the command line beats the environment and the file, and every mistake is one
line naming the key or the option (through the real CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.chat.shards import ShardSet
from bot.cli import main
from bot.config import load_settings
from tests.bot.test_config import _config_json, _write, home  # noqa: F401 - the fixture


def test_the_default_is_every_shard_in_one_process(home: Path) -> None:  # noqa: F811
    settings = load_settings(env={})
    assert settings.discord.shard_ids == [] and settings.discord.shard_count == 0
    assert settings.shards == ShardSet() and settings.shards.share == 1.0


@pytest.mark.parametrize("spelling", ['[0, 1, 2]', '["0-2"]', '"0-2"', '"0,1,2"'])
def test_the_file_takes_a_list_or_a_range(home: Path, spelling: str) -> None:  # noqa: F811
    conf = _write(home / "p.toml", f"[discord]\nshard_ids = {spelling}\nshard_count = 9\n")
    assert load_settings(conf, env={}).shards == ShardSet(frozenset({0, 1, 2}), 9)


def test_the_command_line_beats_the_environment_beats_the_file(home: Path,  # noqa: F811
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    conf = _write(home / "p.toml", "[discord]\nshard_ids = [0]\nshard_count = 4\n")
    env = {"PAPERBOY_DISCORD_SHARD_IDS": "1-2", "PAPERBOY_DISCORD_SHARD_COUNT": "6"}
    assert load_settings(conf, env=env).shards == ShardSet(frozenset({1, 2}), 6)
    cli = {"discord.shard_ids": "3-5", "discord.shard_count": 8}
    assert load_settings(conf, env=env, command_line=cli).shards == ShardSet(frozenset({3, 4, 5}), 8)
    shown = _config_json(capsys, "--config", str(conf))["settings"]["discord"]  # type: ignore[index]
    assert shown["shard_ids"] == {"value": ["0"], "source": "file", "where": str(conf)}
    assert shown["shard_count"] == {"value": 4, "source": "file", "where": str(conf)}


@pytest.mark.parametrize(("argv", "env", "message"), [
    (["--shards", "0-3"], {}, "command line --shards) needs shard_count, the number of shards over all processes"),
    (["--shards", "0-9", "--shard-count", "9"], {},
     "[discord] shard_ids = '0-9' (command line --shards) lists shard 9, but [discord] shard_count = 9 "
     "(command line --shard-count): shards are numbered 0 to 8"),
    (["--shards", "3-1", "--shard-count", "9"], {}, "command line (--shards): [discord] shard_ids = ['3-1']: "
                                                   "'3-1' is not a range: 3 is after 1"),
    (["--shards", "0-2,2", "--shard-count", "9"], {}, "'2' lists shard 2 again"),
    (["--shards", "4"], {"PAPERBOY_DISCORD_SHARD_COUNT": "4"},
     "lists shard 4, but [discord] shard_count = 4 (env PAPERBOY_DISCORD_SHARD_COUNT)"),
    ([], {"PAPERBOY_DISCORD_SHARD_IDS": "a-b", "PAPERBOY_DISCORD_SHARD_COUNT": "4"},
     "environment variable PAPERBOY_DISCORD_SHARD_IDS: [discord] shard_ids = ['a-b']: 'a-b' is not a shard id"),
    ([], {"PAPERBOY_DISCORD_SHARD_COUNT": "-2"}, "[discord] shard_count = -2: must be a whole number from 0 to"),
    (["--shards", "0", "--shard-count", "64"], {}, "leaves this process 0.70 requests a second, too few"),
])
def test_a_bad_shard_setting_is_one_line_naming_it(home: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
                                                   monkeypatch: pytest.MonkeyPatch, argv: list[str],
                                                   env: dict[str, str], message: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DISCORD_TOKEN", "not-used")  # the settings are refused before any connection
    assert main(["run", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("paperboy: ") and err.count("\n") == 1 and message in err, err


@pytest.mark.parametrize("count", ["0", "-1", "many"])
def test_a_shard_count_below_one_is_refused_by_the_option(home: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
                                                          count: str) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["run", "--shards", "0", "--shard-count", count])
    assert stop.value.code == 2
    assert f"argument --shard-count: '{count}' is not a positive whole number" in capsys.readouterr().err
