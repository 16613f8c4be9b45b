"""`paperboy vote`, `top`, `library` and `export --format/--query` through the real `paperboy`
entry point (a process per command), on both backends."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import bibtexparser
import pytest

from bot.display.titles import shown_title
from storage.db import Database
from storage.loader import Loader
from storage.records import PaperRecord, ParsedDigest

pytestmark = pytest.mark.both_backends

ROOT = Path(__file__).resolve().parents[3]
TITLES = ["@everyone {Unbalanced} 100% of $x_1^2$ & #1", "Über Ωmega: 模型 — naïve", "Deep nets", "Deep nets, again"]


def paperboy(db: str, tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERBOY_", "DISCORD_", "PG"))}
    env |= {"PAPERBOY_LOG_FILE": str(tmp_path / "paperboy.log"), "XDG_DATA_HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "bot", "--db", db, *argv], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120, check=False)


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def refused(done: subprocess.CompletedProcess[str], status: int, words: str) -> None:
    assert done.returncode == status, done
    assert words in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


async def test_vote_top_library_and_export(db: Database, db_address: str, tmp_path: Path) -> None:
    papers = [PaperRecord(title=t, abstract=f"About {t}.", arxiv_id=f"2509.{i:05d}" if i % 2 else None,
                          authors=["Ada Lovelace"], categories=["cs.LG"], upvotes=[3, 0, 40, 1][i])
              for i, t in enumerate(TITLES)]
    await Loader(db).load(ParsedDigest("hf-daily", dt.date(2025, 9, 9), "hf-api", papers))

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return paperboy(db_address, tmp_path, *argv)

    voted = json.loads(ok(run("vote", "console:alice", "Deep nets", "--server", "discord:1", "--json")))
    assert (voted["title"], voted["voted"], voted["changed"], voted["votes"]) == ("Deep nets", True, True, 1)
    # A bare number is a Discord id; the PAPER an arXiv id.
    assert "discord:42 voted for Über Ωmega: 模型 — naïve [2509.00001] in discord:1: 1 vote" in ok(
        run("vote", "42", "2509.00001", "--server", "1"))
    ok(run("vote", "console:bob", f"id:{voted['paper_id']}", "--server", "discord:1"))
    again = json.loads(ok(run("vote", "console:alice", "Deep nets", "--server", "discord:1", "--json")))
    assert (again["voted"], again["changed"], again["votes"]) == (True, False, 2)
    undone = json.loads(ok(run("vote", "console:alice", "deep nets", "--server", "discord:1", "--undo", "--json")))
    assert (undone["voted"], undone["changed"], undone["votes"]) == (False, True, 1)

    ranked = [json.loads(line) for line in ok(run("top", "--server", "discord:1", "--all", "--json")).splitlines()]
    # 1 vote + log10(41) = 2.61; 1 vote + log10(1) = 1; then 3 and 1 upvotes of no vote.
    assert [(r["title"], r["votes"], r["upvotes"]) for r in ranked] == [
        ("Deep nets", 1, 40), ("Über Ωmega: 模型 — naïve", 1, 0), (shown_title(TITLES[0]), 0, 3),
        ("Deep nets, again", 0, 1)]
    assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
    assert "Deep nets" in ok(run("top", "--since", "2025-09-01", "--limit", "1"))
    nothing = run("top", "--server", "discord:2", "--since", "2099-01-01")
    assert nothing.returncode == 1 and "nothing voted for" in nothing.stdout

    for paper in ("Deep nets", "2509.00001", TITLES[0]):
        ok(run("library", "console:alice", "add", paper))
    listed = [json.loads(line) for line in ok(run("library", "console:alice", "list", "--json")).splitlines()]
    assert len(listed) == 3 and listed[-1]["title"] == "Deep nets"
    removed = json.loads(ok(run("library", "console:alice", "remove", "Deep nets", "--json")))
    assert (removed["saved"], removed["papers"]) == (False, 2)
    out = tmp_path / "library.bib"
    done = run("library", "console:alice", "export", "--format", "bibtex", "-o", str(out))
    assert done.returncode == 0 and "2 papers written" in done.stderr
    bib = bibtexparser.parse_string(out.read_text(encoding="utf-8"))
    assert bib.failed_blocks == [] and len(bib.entries) == 2
    assert [e.fields_dict.get("eprint").value for e in bib.entries if "eprint" in e.fields_dict] == ["2509.00001"]
    rows = list(csv.DictReader(io.StringIO(ok(run("library", "console:alice", "export", "--format", "csv")))))
    assert rows[0]["title"].startswith("'@everyone")  # a spreadsheet does not run it
    refused(run("library", "console:alice", "add"), 2, "library add needs PAPER")
    refused(run("library", "alice", "list"), 2, "is not an id like")
    refused(run("vote", "console:alice", "id:999999"), 1, "no paper in the archive matches")

    # `export`: the archive, or a search's papers, as BibTeX or CSV; JSON Lines is still the default.
    whole = bibtexparser.parse_string(ok(run("export", "--format", "bibtex")))
    assert whole.failed_blocks == [] and len(whole.entries) == 4 and len({e.key for e in whole.entries}) == 4
    found = bibtexparser.parse_string(ok(run("export", "--query", "deep", "--format", "bibtex")))
    assert sorted(e.fields_dict["title"].value for e in found.entries) == ["{Deep nets, again}", "{Deep nets}"]
    table = list(csv.DictReader(io.StringIO(ok(run("export", "--format", "csv", "--since", "2025-09-09")))))
    assert len(table) == 4 and all(r["paper_id"] == "" for r in table)
    assert all(json.loads(line)["paperboy_export"] == 1 for line in ok(run("export", "--query", "deep")).splitlines())
    assert run("export", "--query", "zzzqqq").returncode == 1  # as `paperboy search`: 1 when nothing matches
