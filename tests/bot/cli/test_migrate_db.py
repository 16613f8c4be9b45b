"""`paperboy migrate-db FROM TO` through the real CLI (#16): an archive made by using Paperboy (the
bundled sample digest loaded, topics followed, a daily post and a notification sent through the
console, fetch state, settings, a title change and a pending match) goes SQLite -> PostgreSQL ->
SQLite and comes back the same: every table's count and checksum, and every row field by field.
PostgreSQL is read only through the transfer code. Also: the refusal of a non-empty target and
what --force does, a copy that does not check out rolled back, and one-line errors."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from bot.cli import main
from bot.samples import SAMPLE_DIGEST
from storage import app_state, fetch_state, library, llm_cache, pending_matches, recommend, votes
from storage.backends import open_database
from storage.fetch_state import Validator
from storage.transfer import CACHES, TABLES, TableSum, read_tables, table_sum

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = ROOT / "tests" / "fixtures" / "hf-daily-papers-api-sample.json"
NOW = dt.datetime(2025, 9, 10, 12, 30, 15, tzinfo=dt.UTC)


def _clean_env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERBOY_", "DISCORD_", "PG"))}
    return {**env, "PAPERBOY_LOG_FILE": str(folder / "paperboy.log"), "XDG_DATA_HOME": str(folder)}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No PAPERBOY_ settings from the developer's environment; the log in tmp_path."""
    for var in [v for v in os.environ if v.startswith(("PAPERBOY_", "DISCORD_", "PG"))]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("PAPERBOY_LOG_FILE", str(tmp_path / "paperboy.log"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    yield tmp_path


async def _more_state(path: Path) -> None:
    """What the console session does not leave: through the repository functions."""
    db = await open_database(path)
    try:
        await app_state.set_value(db, "commands_hash", "ab12 ✓", now=NOW)
        await fetch_state.record_success(db, "hf-daily", NOW, "loaded", dt.date(2025, 9, 9))
        await fetch_state.mark_day(db, "hf-daily", dt.date(2025, 9, 9), "loaded", NOW, papers=144)
        await fetch_state.mark_day(db, "arxiv-rss:cs.LG", dt.date(2025, 9, 8), "failed", NOW, error="HTTP 503")
        await fetch_state.save_validators(db, {"https://huggingface.co/api/daily_papers?date=2025-09-09":
                                               Validator('W/"etag-1"', "Tue, 09 Sep 2025 06:00:00 GMT", 144)}, NOW)
        digest = await db.fetchone("SELECT id FROM digests ORDER BY id LIMIT 1")
        assert digest is not None
        async with db.atomic() as tx:
            await pending_matches.add(tx, int(digest["id"]), [3, 1, 2], now=NOW)
        await llm_cache.put_cached(db, "tldr", 1, "llama3.2", 1, input_hash="h1", text="Denoises faster.",
                                   tokens=42, now=NOW)
        await llm_cache.put_cached(db, "overview", int(digest["id"]), "llama3.2", 1, input_hash="h2", text=None,
                                   problem="states a figure the abstracts do not", now=NOW)
        await llm_cache.add_usage(db, dt.date(2025, 9, 9), "llama3.2", requests=2, prompt_tokens=900)
        await votes.cast(db, "console:lab", "console:alice", 1, now=NOW)
        await library.save(db, "console:alice", 2, now=NOW)
        await recommend.set_weekly(db, "console:alice", True, now=NOW)
        row = await recommend.claim_week(db, "console:alice", "2025-W37", now=NOW)
        assert row is not None
        await recommend.finish_week(db, row, "sent", now=NOW, papers=3)
    finally:
        await db.close()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite archive made by using Paperboy (built once; tests only read it)."""
    folder = tmp_path_factory.mktemp("archive")
    path = folder / "archive.db"
    env = _clean_env(folder)
    script = ("/subscribe diffusion\n/as bob\n/subscribe \"Über 模型 attention\"\n"
              f"/setup channel #papers 09:00 UTC\n/ingest file:{SAMPLE_DIGEST}\n/tick\n/tick +1d\n")
    console = [sys.executable, "-m", "bot", "--db", str(path), "console", "--admin", "--clock", "2025-09-09T04:00:00Z"]
    done = subprocess.run(console, input=script, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    # A corrected copy of a digest retitles a paper: the title change log gets a row.
    corrected = json.loads(FIXTURE.read_text(encoding="utf-8"))
    corrected[0]["paper"]["title"] += " (revised)"
    (folder / "corrected.json").write_text(json.dumps(corrected), encoding="utf-8")
    for digest in (FIXTURE, folder / "corrected.json"):
        done = subprocess.run([sys.executable, "-m", "bot", "--db", str(path), "ingest", str(digest)],
                              capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
    asyncio.run(_more_state(path))
    return path


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every copied table's rows as SQLite stores them, in key order; JSON texts parsed, because
    an object's key order is not kept (PostgreSQL's jsonb keeps none): a copy to SQLite writes
    the keys sorted, as the loader does, where the original may hold them in json_patch's order."""
    with closing(sqlite3.connect(path)) as conn:
        return {t.name: [tuple(json.loads(v) if c.kind.startswith("json") and v is not None else v
                               for c, v in zip(t.columns, row, strict=True))
                         for row in conn.execute(f"SELECT {', '.join(t.names)} FROM {t.name} "  # noqa: S608
                                                 f"ORDER BY {', '.join(t.key)}")] for t in TABLES}


def _json_texts_differing(path: Path, other: Path) -> set[str]:
    """The columns where the two archives store a JSON value as different text."""
    differing = set()
    with closing(sqlite3.connect(path)) as a, closing(sqlite3.connect(other)) as b:
        for t in TABLES:
            sql = f"SELECT {', '.join(t.names)} FROM {t.name} ORDER BY {', '.join(t.key)}"  # noqa: S608
            for one, two in zip(a.execute(sql), b.execute(sql), strict=True):
                differing |= {f"{t.name}.{c.name}" for c, x, y in zip(t.columns, one, two, strict=True) if x != y}
    return differing


async def _sums(address: str) -> dict[str, TableSum]:
    db = await open_database(address)
    try:
        async with read_tables(db) as reader:
            return {t.name: await table_sum(reader, t) for t in TABLES}
    finally:
        await db.close()


def _migrate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object], str]:
    capsys.readouterr()
    status = main(["migrate-db", *argv, "--json"])
    captured = capsys.readouterr()
    report = json.loads(captured.out) if captured.out.strip() else {}
    return status, report, captured.err


def test_an_archive_goes_to_postgres_and_back_unchanged(archive: Path, home: Path, pg_url: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    before = _rows(archive)
    filled = {name for name, rows in before.items() if rows}
    assert filled == {t.name for t in TABLES}, f"the test archive leaves empty: {set(before) - filled}"
    assert len(before["papers"]) >= 144

    status, there, err = _migrate(capsys, str(archive), pg_url, "--chunk-rows", "10")
    assert status == 0, err
    papers = len(before["papers"])
    assert f"migrate-db: copying papers: {papers:,} of {papers:,} rows\n" in err
    assert f"migrate-db: checked papers in TO: {papers:,} rows\n" in err
    back = home / "back.db"
    status, again, err = _migrate(capsys, pg_url, f"sqlite:///{back}", "--chunk-rows", "7")
    assert status == 0, err

    for report in (there, again):
        assert report["matches"] is True and report["emptied_caches"] == list(CACHES)
        assert all(t["matches"] and t["source_rows"] == len(before[t["table"]]) for t in report["tables"])
    # The checksums PostgreSQL's rows gave are the SQLite archive's, both ways.
    checksums = {t["table"]: t["source_checksum"] for t in there["tables"]}
    assert checksums == {t["table"]: t["target_checksum"] for t in there["tables"]}
    assert checksums == {t["table"]: t["source_checksum"] for t in again["tables"]}
    assert checksums == {t["table"]: t["target_checksum"] for t in again["tables"]}

    # The final SQLite archive equals the first: counts and checksums, then every row field by field.
    first, last = asyncio.run(_sums(str(archive))), asyncio.run(_sums(str(back)))
    assert {n: (s.rows, s.checksum) for n, s in first.items()} == {n: (s.rows, s.checksum) for n, s in last.items()}
    after = _rows(back)
    for table in TABLES:
        assert after[table.name] == before[table.name], table.name
    # Byte for byte but for the order of links' keys, which a merge (json_patch) left unsorted.
    assert _json_texts_differing(archive, back) <= {"papers.links"}

    # The copy works as an archive: search (its full-text index was rebuilt) finds the same papers.
    for db in (archive, back):
        assert main(["--db", str(db), "search", "diffusion", "--json"]) == 0
    first_search, last_search = capsys.readouterr().out.split("\n", 1)
    assert first_search and last_search.strip() and json.loads(first_search) == json.loads(
        last_search.splitlines()[0])


async def _next_ids(url: str) -> tuple[int, int]:
    """The ids PostgreSQL hands out next, after a copy: past the copied ones."""
    db = await open_database(url)
    try:
        digest = await db.fetchone(
            "INSERT INTO digests (source, date, format, fetched_at, updated_at) VALUES ('x', '2030-01-01', 'x', "
            "now(), now()) RETURNING id")
        paper = await db.fetchone("SELECT id FROM papers ORDER BY id LIMIT 1")
        assert digest is not None and paper is not None
        return int(digest["id"]), int(paper["id"])
    finally:
        await db.close()


def test_postgres_numbers_new_rows_past_the_copied_ids(archive: Path, home: Path, pg_url: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    rows = _rows(archive)
    assert _migrate(capsys, str(archive), pg_url)[0] == 0
    digest_id, _ = asyncio.run(_next_ids(pg_url))
    assert digest_id == max(r[0] for r in rows["digests"]) + 1  # type: ignore[operator]


def test_a_target_holding_an_archive_is_refused_unless_forced(archive: Path, home: Path, pg_url: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert _migrate(capsys, str(archive), pg_url)[0] == 0
    status, report, err = _migrate(capsys, str(archive), pg_url)
    assert status == 1 and report == {}
    line = err.strip().splitlines()[-1]
    papers = len(_rows(archive)["papers"])
    assert line.startswith("paperboy: the target postgresql://") and f"is not empty (rows: papers {papers}, " in line
    assert line.endswith("pass --force to replace its contents with the source's")

    # A SQLite target too; --force replaces what it held (here: another archive) with the source.
    other = home / "other.db"
    assert main(["--db", str(other), "ingest", str(FIXTURE)]) == 0
    held = {name: len(rows) for name, rows in _rows(other).items() if rows}
    status, _, err = _migrate(capsys, str(archive), str(other))
    assert status == 1 and f"is not empty (rows: papers {held['papers']}, digests {held['digests']}" in err
    status, report, err = _migrate(capsys, str(archive), str(other), "--force")
    assert status == 0, err
    assert report["replaced"] == held
    assert _rows(other) == _rows(archive)
    status, report, _ = _migrate(capsys, pg_url, str(other), "--force")
    assert status == 0 and report["matches"] is True


def test_caches_do_not_make_a_target_non_empty_and_are_emptied(archive: Path, home: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    target = home / "cached.db"
    assert main(["--db", str(target), "stats"]) == 0
    with closing(sqlite3.connect(target)) as conn, conn:
        conn.execute("INSERT INTO title_snapshot (part, chunk, data) VALUES ('meta', 0, x'00')")
        conn.execute("INSERT INTO summary_term_counts VALUES ('model', 5, 10, '2025-09-09T00:00:00Z')")
    status, report, err = _migrate(capsys, str(archive), str(target))
    assert status == 0 and report["replaced"] == {}, err
    with closing(sqlite3.connect(target)) as conn:
        assert [conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in CACHES] == [0] * len(CACHES)  # noqa: S608


def test_a_copy_that_does_not_check_out_is_rolled_back(archive: Path, home: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from storage.sqlite import transfer as sqlite_transfer

    # A writer that garbles one text (the first with "Diffusion": a paper's): the checksums must catch it.
    text, garbled = sqlite_transfer._WRITE["text"], []

    def garble(value: object) -> str:
        if "Diffusion" in str(value) and not garbled:
            garbled.append(value)
            return text(value).replace("Diffusion", "Difusion", 1)
        return text(value)

    monkeypatch.setitem(sqlite_transfer._WRITE, "text", garble)
    target = home / "garbled.db"
    capsys.readouterr()
    assert main(["migrate-db", str(archive), str(target)]) == 1
    captured = capsys.readouterr()
    assert "DIFFERENT" in captured.out and captured.out.count("DIFFERENT") == 1
    assert next(line for line in captured.out.splitlines() if "DIFFERENT" in line).startswith("papers ")
    assert captured.err.strip().splitlines()[-1] == (
        f"paperboy: the copy in {target} does not match {archive} in papers; it was rolled back, the target is "
        "unchanged")
    assert all(not rows for rows in _rows(target).values())


@pytest.mark.parametrize(("argv", "status", "message"), [
    (["{archive}", "postgresql://paperboy@db.example:54x/paperboy"], 2,
     "paperboy: TO 'postgresql://***@db.example:54x/paperboy' is not a usable PostgreSQL URL"),
    (["{archive}", "mysql://db.example/paperboy"], 2, "paperboy: TO 'mysql://db.example/paperboy' is a mysql:// URL"),
    (["{archive}", "postgresql://paperboy:hunter2-secret@db.example/paperboy"], 2,
     "paperboy: TO 'postgresql://***@db.example/paperboy' holds a password, and a command line is seen"),
    (["{home}/missing.db", "{home}/b.db"], 1, "paperboy: {home}/missing.db: no such database file to copy from"),
    (["{archive}", "sqlite:///{archive}"], 1, "paperboy: the source and the target are the same database"),
    (["{archive}", "postgresql://paperboy@127.0.0.1:1/paperboy"], 1,
     "paperboy: cannot reach PostgreSQL at postgresql://***@127.0.0.1:1/paperboy"),
])
def test_bad_addresses_are_one_line(archive: Path, home: Path, capsys: pytest.CaptureFixture[str],
                                    argv: list[str], status: int, message: str) -> None:
    capsys.readouterr()
    assert main(["migrate-db", *(a.format(archive=archive, home=home) for a in argv)]) == status
    captured = capsys.readouterr()
    assert captured.err.startswith(message.format(home=home)) and captured.err.count("\n") == 1
    assert "hunter2" not in captured.err and not captured.out



def test_a_sqlite_target_in_use_is_refused(archive: Path, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from storage.instance_lock import hold_shared

    target = home / "in-use.db"
    held = hold_shared(str(target))  # as a running bot holds its database
    try:
        capsys.readouterr()
        assert main(["migrate-db", str(archive), str(target)]) == 1
        err = capsys.readouterr().err
        assert f"paperboy: {target} is in use by a running Paperboy" in err and err.count("\n") == 1
    finally:
        held.release()
