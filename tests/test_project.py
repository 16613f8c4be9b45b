"""Project-wide rules: layering, documented settings and commands."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import os
import re
import tomllib
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.config import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", _python_files("storage"), ids=lambda p: str(p.relative_to(ROOT)))
def test_storage_never_imports_the_assistant_or_discord(path: Path) -> None:
    bad = {m for m in _imports(path) if m.split(".")[0] in {"bot", "discord"}}
    assert not bad, f"{path} imports {bad}"


@pytest.mark.parametrize("path", _python_files("bot"), ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_discord_transport_imports_discord(path: Path) -> None:
    if "bot/transports/discord_bot/" in path.as_posix():
        return
    bad = {m for m in _imports(path) if m.split(".")[0] == "discord"}
    assert not bad, f"{path} imports {bad}"


@pytest.mark.parametrize("path", _python_files("bot") + _python_files("storage"),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_product_never_imports_scaffolding(path: Path) -> None:
    bad = {m for m in _imports(path) if m.split(".")[0] in {"testkit", "tests", "bench"}}
    assert not bad, f"{path} imports {bad}"


@pytest.mark.parametrize("path", _python_files("bench") + _python_files("testkit"),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_bench_and_testkit_never_import_the_tests(path: Path) -> None:
    """bench/ consumes the product and testkit/; testkit/ serves both and imports neither."""
    banned = {"tests"} if path.is_relative_to(ROOT / "bench") else {"tests", "bench"}
    bad = {m for m in _imports(path) if m.split(".")[0] in banned}
    assert not bad, f"{path} imports {bad}"


@pytest.mark.parametrize("path", _python_files("bot"), ids=lambda p: str(p.relative_to(ROOT)))
def test_sql_lives_in_storage(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert not re.search(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b", source), (
        f"{path} contains SQL; move it behind a storage repository function")


def test_config_file_documents_every_setting_with_its_default() -> None:
    documented = tomllib.loads((ROOT / "config" / "paperboy.toml").read_text(encoding="utf-8"))
    defaults = Settings()
    for section in dataclasses.fields(defaults):
        values = dataclasses.asdict(getattr(defaults, section.name))
        assert documented.get(section.name) == values, f"[{section.name}] in config/paperboy.toml"
    assert set(documented) == {f.name for f in dataclasses.fields(defaults)}


def test_every_setting_has_a_comment() -> None:
    text = (ROOT / "config" / "paperboy.toml").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(text):
        if re.match(r"^\w+\s*=", line):
            assert text[i - 1].startswith("#"), f"config/paperboy.toml line {i + 1} has no comment above it"


def test_environment_overrides_a_setting_and_bad_values_are_named() -> None:
    settings = load_settings(env={"PAPERBOY_DATABASE_BUSY_TIMEOUT_MS": "250",
                                  "PAPERBOY_INGEST_ANNOUNCE_TYPES": "new, replace"})
    assert settings.database.busy_timeout_ms == 250
    assert settings.ingest.announce_types == ["new", "replace"]
    with pytest.raises(ConfigError, match="PAPERBOY_DATABASE_BUSY_TIMEOUT_MS"):
        load_settings(env={"PAPERBOY_DATABASE_BUSY_TIMEOUT_MS": "soon"})


def test_unknown_keys_in_the_config_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("[database]\npaht = 'x'\n")
    with pytest.raises(ConfigError, match="unknown key 'paht'"):
        load_settings(path, env={})


def test_db_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert load_settings(env={"PAPERBOY_DB": str(tmp_path / "env.db")}).db_path == str(tmp_path / "env.db")
    s = load_settings(env={"PAPERBOY_DATABASE_PATH": "/x/explicit.db"})
    assert s.db_path == "/x/explicit.db"
    assert load_settings(env={}).db_path == os.path.join(str(tmp_path), "paperboy", "paperboy.db")


CLI_DOC = ROOT / "docs" / "cli.md"


def _subcommands(parser: argparse.ArgumentParser, prefix: str = "") -> list[tuple[str, argparse.ArgumentParser]]:
    """Every command, nested ones too ("schedule set"), with its parser."""
    found: list[tuple[str, argparse.ArgumentParser]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in sorted(action.choices.items()):
                found.append((prefix + name, sub))
                found += _subcommands(sub, prefix + name + " ")
    return found


def _commands() -> list[str]:
    return [name for name, _ in _subcommands(build_parser())]


@pytest.mark.parametrize("command", _commands())
def test_every_cli_command_is_documented(command: str) -> None:
    reference = CLI_DOC.read_text(encoding="utf-8")
    assert f"paperboy {command}" in reference, f"`paperboy {command}` is not in docs/cli.md"


# Every command takes these (before or after its name); the reference documents them once.
COMMON_OPTIONS = {"--help", "--db", "--config", "--verbose", "--json"}


def _options() -> list[tuple[str, str]]:
    return [(name, opt) for name, command in _subcommands(build_parser())
            for action in command._actions for opt in action.option_strings
            if opt.startswith("--") and opt not in COMMON_OPTIONS]


def test_the_common_options_are_documented_once() -> None:
    reference = CLI_DOC.read_text(encoding="utf-8")
    section = reference[reference.index("Every command takes"):][:600]
    for option in COMMON_OPTIONS - {"--help"}:
        assert option in section, f"{option} is not among the common options in docs/cli.md"


@pytest.mark.parametrize(("command", "option"), _options())
def test_every_cli_option_is_documented(command: str, option: str) -> None:
    """On a line of the reference that names the command, as sqlite-utils checks its CLI documentation
    (`--json` too where a command takes it, though every command's --json is described once)."""
    lines = CLI_DOC.read_text(encoding="utf-8").splitlines()
    assert any(f"paperboy {command}" in line and re.search(rf"{re.escape(option)}\b(?!-)", line) for line in lines), (
        f"`paperboy {command} {option}` is not in docs/cli.md")
