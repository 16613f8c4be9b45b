"""The command line's shared rules (issue #20), through the real `paperboy` entry point: common
options before or after the command, one --json rule, exit codes, paper references, queries that
start with an exclusion, colour only on request or a terminal, the "more:" hint, the demo's own
database, the SQLite version check, and a --help that imports no command."""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser, main
from bot.cli.common import CliError, check_sqlite

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "p.db"
    assert main(["--db", str(path), "ingest", "--sample"]) == 0
    capsys.readouterr()
    return path


def _out(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out


def test_common_options_work_before_and_after_the_command(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(db), "--json", "stats"]) == 0
    before = json.loads(_out(capsys))
    assert main(["stats", "--db", str(db), "--json"]) == 0
    assert json.loads(_out(capsys)) == before and before["papers"] == 144
    assert main(["search", "diffusion", "--json", "--db", str(db), "--limit", "1"]) == 0
    assert json.loads(_out(capsys))["count"] > 1


def test_json_is_one_object_per_line_for_every_command(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(db), "ingest", str(ROOT / "tests/fixtures/arxiv-api-sample.xml")]) == 0
    _out(capsys)
    for argv in (["digests"], ["sources"], ["schedule", "list"], ["posts"], ["deliveries"], ["stats"]):
        main(["--db", str(db), *argv, "--json"])
        lines = _out(capsys).splitlines()
        assert all(isinstance(json.loads(line), dict) for line in lines), argv
    main(["--db", str(db), "digests", "--json"])
    assert len(_out(capsys).splitlines()) == 2


def test_a_command_without_json_output_refuses_it_as_usage(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--db", str(db), "--json", "export"])
    assert exit_.value.code == 2 and "export has no --json" in capsys.readouterr().err


def test_nothing_found_is_exit_1_for_paper_search_and_digest(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(db), "search", "zzzqqq"]) == 1
    assert main(["--db", str(db), "paper", "zzzqqq xxyyzz"]) == 1
    assert main(["--db", str(db), "digest", "--date", "2020-01-01"]) == 1
    assert main(["--db", str(db), "search", "diffusion"]) == 0
    with pytest.raises(SystemExit) as exit_:
        main(["--db", str(db), "search", "--limit", "0", "x"])
    assert exit_.value.code == 2


@pytest.mark.parametrize("query", ["-survey llm", "llm -survey"])
def test_a_query_may_start_with_an_exclusion(db: Path, capsys: pytest.CaptureFixture[str], query: str) -> None:
    assert main(["--db", str(db), "search", query, "--json"]) == 0
    assert json.loads(_out(capsys))["parsed"] == "llm -survey"


def test_a_lone_exclusion_is_read_as_the_query_not_an_option(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(db), "search", "-survey"]) == 1
    assert main(["--db", str(db), "search", "--", "-survey"]) == 1
    err = capsys.readouterr().err
    assert "exclusions" in err and "unrecognized" not in err


def test_search_is_plain_when_piped_and_bold_on_request(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(db), "search", "diffusion", "--limit", "1"]) == 0
    plain = _out(capsys)
    assert "**" not in plain and "\033[" not in plain and "Diffusion" in plain
    assert main(["--db", str(db), "search", "diffusion", "--limit", "1", "--color", "always"]) == 0
    assert "\033[1mDiffusion\033[0m" in _out(capsys)


def test_the_more_hint_keeps_filters_and_page_size(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(db), "search", "-survey llm", "--since", "2025-09-01", "--source", "hf-daily",
                 "--limit", "2"]) == 0
    first = _out(capsys)
    hint = first.splitlines()[-1]
    assert hint.startswith("more: paperboy search --since 2025-09-01 --source hf-daily --limit 2 --cursor ")
    argv = shlex.split(hint.removeprefix("more: paperboy "))
    assert argv[-2:] == ["--", "-survey llm"]
    assert main(["--db", str(db), *argv]) == 0
    second = _out(capsys)
    assert "different search" not in second and second.count("arXiv") <= 2 and second != first


def test_a_paper_argument_takes_what_paper_prints(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(db), "paper", "flash att", "--json"]) == 0
    hit = json.loads(_out(capsys))["hits"][0]
    for ref in (hit["value"], str(hit["paper_id"]), f"id:{hit['paper_id']}"):
        assert main(["--db", str(db), "subscriptions", "console:a", "--why", ref, "--topic", "attention"]) == 0, ref
        assert hit["title"][:20] in _out(capsys)


def test_the_demo_has_its_own_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PAPERBOY_DB", str(tmp_path / "main.db"))
    monkeypatch.setattr("sys.stdin", open(__file__))  # noqa: SIM115 - not a terminal: no prompt
    assert main(["demo"]) == 0
    assert (tmp_path / "demo.db").exists()
    assert main(["stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["papers"] == 0
    sys.stdin.close()


def test_an_old_sqlite_is_refused_with_what_is_needed() -> None:
    with pytest.raises(CliError, match=r"needs SQLite 3\.38\.0 or newer; this Python uses SQLite 3\.37\.2"):
        check_sqlite("3.37.2")
    check_sqlite("3.38.0")


def test_help_imports_no_command_module() -> None:
    code = ("import sys, contextlib, io\nfrom bot.cli import main\n"
            "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()): main(['--help'])\n"
            "print(sorted(m for m in sys.modules if m.startswith(('storage', 'asyncio', 'bot.cli.'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['bot.cli.common']"


def _parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    found = []

    def walk(name: str, parser: argparse.ArgumentParser) -> None:
        found.append((name, parser))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child, sub in action.choices.items():
                    walk(f"{name} {child}".strip(), sub)

    walk("", build_parser())
    return found[1:]


@pytest.mark.parametrize(("name", "parser"), _parsers(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_and_argument_has_help(name: str, parser: argparse.ArgumentParser) -> None:
    undocumented = [a.dest for a in parser._actions if not a.help]
    assert not undocumented, f"paperboy {name}: {undocumented} have no help text"
    if " " not in name:  # a command (its actions are described by their own help)
        assert f"example: paperboy {name}" in parser.format_help() or "example: DISCORD_TOKEN" in parser.format_help()


def test_sources_and_status_show_a_digest_loaded_by_hand(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", str(db), "sources"]) == 0
    line = _out(capsys)
    assert "hf-daily: not fetched yet (1 digest stored, loaded by hand), newest digest 2025-09-09" in line
    main(["--db", str(db), "status"])
    assert "newest digest 2025-09-09" in _out(capsys)
    assert main(["--db", str(db), "sources", "--json"]) == 0
    row = json.loads(_out(capsys))
    assert (row["stored_digests"], row["newest_digest"]) == (1, "2025-09-09")


def test_archive_imports_are_listed_apart_from_daily_digests(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snapshot = ROOT / "tests/fixtures/ingest/arxiv-snapshot-sample.jsonl"
    assert main(["--db", str(db), "ingest", str(snapshot)]) == 0
    _out(capsys)
    assert main(["--db", str(db), "digests", "--json"]) == 0
    assert [d["kind"] for d in map(json.loads, _out(capsys).splitlines())] == ["daily"]
    main(["--db", str(db), "digests"])
    assert "4 days of archive imports" in _out(capsys)
    assert main(["--db", str(db), "digests", "--all", "--json"]) == 0
    kinds = [d["kind"] for d in map(json.loads, _out(capsys).splitlines())]
    assert kinds.count("archive") == 4 and kinds.count("daily") == 1


def test_an_archive_import_is_reported_as_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bench import corpus

    snapshot = corpus.write_corpus(tmp_path / "snapshot.jsonl", 100, seed=3)
    assert main(["--db", str(tmp_path / "p.db"), "ingest", str(snapshot)]) == 0
    assert ": arxiv-snapshot: archive import, " in _out(capsys)
