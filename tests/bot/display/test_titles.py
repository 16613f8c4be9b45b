"""Titles shown readable (issue #20): TeX in a stored title (`$Δ$-DiT`, `$\\alpha$-…`, `\\textbf{…}`)
is shown as Unicode everywhere a person reads it (search, /paper and its suggestions, the daily post
and its full list, notifications, /why, the CLI), search's marks land on the shown text, and the
archive keeps the title as written. The fixture is tests/fixtures/ingest/hf-api-latex-titles.json."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cli import main
from bot.display.titles import shown_marked, shown_title
from bot.search.service import mark
from bot.transports.console import Session, candidates, run
from storage.search.fts import Marked
from tests.bot.commands.conftest import open_app

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "ingest" / "hf-api-latex-titles.json"
DAY = "2026-03-02"
SHOWN = [  # the fixture's titles as shown, in its order
    "Δ-DiT: A Training-Free Acceleration Method Tailored for Diffusion Transformers",
    "H^3Fusion: Helpful, Harmless, Honest Fusion of Aligned LLMs",
    "α-Diffusion: Scaling Masked Diffusion Language Models to 10^9 Parameters",
    "The exotic structure of the spectral ζ-function for the Schrödinger operator with Pöschl–Teller potential",
    "On an Erdős-Szekeres Game",
    "Reparametrization Invariance, the controversial extraction of α from B→ππ and New Physics",
    "Diffusion Transformers at 50% of the Cost & Twice the Speed",
]
# What stored TeX leaves behind when it is shown raw.
RAW_TEX = re.compile(r"\$|\\[a-zA-Z\"'~^`.=]|\\textbf|\{\\")


def no_raw_tex(text: str) -> None:
    found = RAW_TEX.search(text)
    assert found is None, f"raw TeX {found.group(0)!r} shown: …{text[max(found.start() - 60, 0):found.end() + 60]}…"


# --- The conversion and the marks -----------------------------------------------------------

@pytest.mark.parametrize(("stored", "shown"), [
    ("$Δ$-DiT: A Training-Free Method", "Δ-DiT: A Training-Free Method"),
    ("$\\alpha$-Flow", "α-Flow"),
    ("\\textbf{Bold} Claims", "Bold Claims"),
    ("Schr\\\"odinger with P\\\"oschl--Teller", "Schrödinger with Pöschl–Teller"),
    ("A title\n  on two lines", "A title on two lines"),
    ("Control\x07 characters\u202e dropped", "Control characters dropped"),
    ("50% faster & cheaper", "50% faster & cheaper"),
])
def test_shown_title(stored: str, shown: str) -> None:
    assert shown_title(stored) == shown


def _marked(stored: str, words: list[str]) -> str:
    """`stored` with `words` (each found in it) marked as search would, then shown, as [..]."""
    spans = []
    for word in words:
        start = stored.index(word)
        spans.append((start, start + len(word)))
    return mark(shown_marked(Marked(stored, tuple(spans))), "[", "]")


@pytest.mark.parametrize(("stored", "words", "shown"), [
    # A match inside TeX marks what it became; one outside keeps its letters.
    ("$\\alpha$-Flow: Unifying Models", ["alpha", "Flow"], "[α]-[Flow]: Unifying Models"),
    ("$Δ$-DiT: A Training-Free Method", ["Δ", "DiT"], "[Δ]-[DiT]: A Training-Free Method"),
    ("\\textbf{Bold} Claims", ["Bold", "Claims"], "[Bold] [Claims]"),
    # Offsets after converted TeX move with the text.
    ("$\\mathcal{O}(n)$ Attention for $\\beta$-VAEs", ["Attention", "VAEs"], "𝒪(n) [Attention] for β-[VAEs]"),
    ("The spectral $\\zeta$-function for the Schr\\\"odinger operator", ["zeta", "operator"],
     "The spectral [ζ]-function for the Schrödinger [operator]"),
    # Two matches that come out side by side are one mark, not two that read as a broken one.
    ("$\\alpha\\beta$ pairs", ["alpha", "beta"], "[αβ] pairs"),
    ("Koll\\'ar's theorem", ["Koll", "ar"], "[Kollár]'s theorem"),
    # White space collapsed before a match.
    ("A title\n  on two lines", ["lines"], "A title on two [lines]"),
    # A mark never splits a letter from its combining accent, TeX or not.
    ("Cafe\u0301 culture", ["Cafe"], "[Cafe\u0301] culture"),
])
def test_marks_land_on_the_shown_text(stored: str, words: list[str], shown: str) -> None:
    assert _marked(stored, words) == shown


_PIECES = st.sampled_from(["$\\alpha$", "$Δ$", "\\textbf{Bold}", "Schr\\\"odinger", "{\\L}ukasz", "$x^{2}$", "--",
                           "e\u0301", "50%", " & ", "\n  ", " ", "-", "Diffusion", "DiT", "\\'a", "$\\mathbb{R}$"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=12).map("".join), st.data())
def test_marks_on_converted_titles_are_well_formed(stored: str, data: st.DataObject) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stored)), max_size=8)))
    spans = tuple((a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=False) if a < b)
    shown = shown_marked(Marked(stored, spans))
    assert shown.text == shown_title(stored)
    end = -1
    for start, stop in shown.spans:
        assert end < start < stop <= len(shown.text)  # in order, apart, never empty
        assert not unicodedata.combining(shown.text[start]), "a mark starts on an accent"
        assert stop == len(shown.text) or not unicodedata.combining(shown.text[stop]), "a mark splits an accent"
        assert not shown.text[start].isspace() and not shown.text[stop - 1].isspace()
        end = stop
    assert mark(shown, "**", "**").replace("**", "") == shown.text


# --- Through the CLI ------------------------------------------------------------------------

def cli(capsys: pytest.CaptureFixture[str], db: Path, *argv: str) -> tuple[int, str]:
    status = main(["--db", str(db), *argv])
    out = capsys.readouterr()
    assert "Traceback" not in out.err, out.err
    return status, out.out


@pytest.fixture
def loaded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    db = tmp_path / "p.db"
    assert cli(capsys, db, "ingest", str(FIXTURE))[0] == 0
    return db


def test_cli_search_shows_titles_readable_with_marks_on_them(loaded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out = cli(capsys, loaded, "search", "alpha", "--color", "always")
    assert status == 0
    assert "  1. \033[1mα\033[0m-Diffusion: Scaling Masked Diffusion Language Models to 10^9 Parameters" in out
    assert "of \033[1mα\033[0m from B→ππ and New Physics" in out
    status, out = cli(capsys, loaded, "search", "dit OR fusion OR zeta", "--color", "never")
    assert status == 0
    for title in SHOWN[:2] + SHOWN[3:4]:
        assert f". {title}\n" in out
    no_raw_tex(out)
    status, out = cli(capsys, loaded, "search", "dit OR fusion OR zeta OR alpha", "--json")
    hits = json.loads(out)["hits"]
    assert sorted(h["title"] for h in hits) == sorted(SHOWN[:4] + SHOWN[5:6])
    marked = {h["title"]: [h["title"][a:b] for a, b in h["title_spans"]] for h in hits}
    assert marked[SHOWN[0]] == ["DiT"] and marked[SHOWN[1]] == ["Fusion", "Fusion"]
    assert marked[SHOWN[2]] == ["α"] and marked[SHOWN[3]] == ["ζ"]


def test_cli_paper_digest_and_why_show_titles_readable(loaded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out = cli(capsys, loaded, "paper", "spectral zeta function")
    assert status == 0 and f"  {SHOWN[3]}  [2411.17860" in out
    status, out = cli(capsys, loaded, "paper", "Erdos Szekeres game", "--json")
    assert json.loads(out)["hits"][0]["title"] == SHOWN[4]
    status, out = cli(capsys, loaded, "paper", "arxiv:2406.01125")
    assert f"  {SHOWN[0]}  [2406.01125" in out
    status, out = cli(capsys, loaded, "digest", "--date", DAY)
    assert status == 0 and f"1. {SHOWN[0]}  [40 upvotes]" in out
    for title in SHOWN:
        assert f"  - {title}  https://arxiv.org/abs/" in out  # the full list
    no_raw_tex(out)
    status, out = cli(capsys, loaded, "digest", "--date", DAY, "--json")
    assert {p["title"] for g in json.loads(out)["groups"] for p in g["papers"]} == set(SHOWN)
    status, out = cli(capsys, loaded, "subscriptions", "console:alice", "--why", "2411.17860", "--topic", "zeta")
    assert f"“zeta” and {SHOWN[3]}: matches" in out
    status, out = cli(capsys, loaded, "subscribe", "console:alice", "spectral", "--preview")
    assert f"{DAY}  {SHOWN[3]}  [matched: spectral]" in out
    status, out = cli(capsys, loaded, "export")
    assert "$\\\\zeta$-function for the Schr\\\\\\\"odinger" in out  # stored as the source wrote it


def test_cli_deliveries_show_titles_readable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "p.db"
    today = dt.date.today().isoformat()
    fresh = tmp_path / "today.json"  # notifications go out for recent digests only
    fresh.write_text(FIXTURE.read_text().replace(DAY, today))
    assert cli(capsys, db, "subscribe", "console:alice", "alpha OR zeta")[0] == 0
    assert cli(capsys, db, "ingest", str(fresh))[0] == 0
    status, out = cli(capsys, db, "deliveries")
    assert status == 0 and f"- {SHOWN[2]}\n" in out and f"- {SHOWN[3]}\n" in out
    no_raw_tex(out)


# --- Through the console --------------------------------------------------------------------

async def test_console_shows_titles_readable_everywhere(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    written: list[str] = []
    app, clock = await open_app(tmp_path, written)
    # A title whose TeX grows when converted, at the ingest limit: every reply must still fit Discord.
    items: list[dict[str, Any]] = json.loads(FIXTURE.read_text())
    long = "Growing " + "\\today{} " * 60
    items.append(json.loads(json.dumps(items[-1])))
    items[-1]["paper"].update(id="2603.00019", title=long[:500].strip(), upvotes=1000)
    digest = tmp_path / "tex.json"
    digest.write_text(json.dumps(items))
    script = ["/subscribe alpha OR zeta OR growing", "/admin on", f"/tick {DAY}T06:00+00:00", f"/ingest file:{digest}",
              "/search alpha", "/search zeta OR growing", "/paper spectral zeta", "/paper Delta-DiT", f"/digest {DAY}",
              "/press 1", "/why zeta arxiv:2411.17860", "/subscribe spectral preview:true", "/paper growing today"]
    try:
        session = Session(app, clock, written.append, user="alice")
        with caplog.at_level(logging.ERROR):
            assert await run(session, io.StringIO("\n".join(script) + "\n"), interactive=False) == 0
            shown = await candidates(session, "/paper spectral ze")
            grown = await candidates(session, "/paper growing today")
    finally:
        await app.close()
    out = "\n".join(written)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "a reply did not fit"
    no_raw_tex(out)
    dm = out.index("[DM to alice]")
    assert SHOWN[2] in out[dm:] and SHOWN[3][:60] in out[dm:]  # the notification
    assert "1. α-Diffusion: Scaling" in out and "== Δ-DiT: A Training-Free" in out
    assert "Highlights" in out and "• On an Erdős-Szekeres Game" in out  # the post and its full list
    assert any(c.display.startswith("The exotic structure of the spectral ζ-function") for c in shown)
    assert grown and all(len(c.display) <= 100 for c in grown)
