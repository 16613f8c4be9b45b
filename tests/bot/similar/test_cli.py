"""`paperboy similar` and `paperboy recommend` through the real entry point (a process per command),
on both backends: text and --json, a PAPER in any form, --rebuild, refusals in one line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from bot.app import build_loader
from bot.config import Settings
from storage import library
from storage.db import Database
from storage.loader import Loader
from tests.bot.community.test_cli import ok, paperboy, refused
from tests.bot.similar.corpus import LATE, TOPICS, first_digest, second_digest

pytestmark = pytest.mark.both_backends

async def test_similar_and_recommend(db: Database, db_address: str, tmp_path: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()
    await build_loader(db, Settings()).load(first_digest(today - dt.timedelta(days=40)))
    await Loader(db).load(second_digest(today))  # not indexed by this loader: --rebuild will
    protein = TOPICS["protein"][0][0]

    lines = ok(paperboy(db_address, tmp_path, "similar", "predicting protein structure", "--limit", "2"))
    assert lines.splitlines()[0] == f"like {protein} [2509.00004]:"
    assert TOPICS["protein"][1][0] in lines and TOPICS["protein"][2][0] in lines
    found = [json.loads(x) for x in ok(paperboy(db_address, tmp_path, "similar", "2509.00004", "--json")).splitlines()]
    assert [f["rank"] for f in found][:2] == [1, 2] and found[0]["score"] > found[-1]["score"]
    assert {f["title"] for f in found[:2]} == {TOPICS["protein"][1][0], TOPICS["protein"][2][0]}
    assert set(found[0]) == {"rank", "paper_id", "arxiv_id", "title", "score", "words"} and found[0]["words"]
    by_id = ok(paperboy(db_address, tmp_path, "similar", f"id:{found[0]['paper_id']}", "--json"))
    assert protein in by_id

    # The late paper is not in the index yet: --rebuild weighs every paper.
    assert LATE[0] not in ok(paperboy(db_address, tmp_path, "similar", "2509.00001", "--json"))
    assert ok(paperboy(db_address, tmp_path, "similar", "--rebuild", "--json")).strip().startswith('{"papers": 10')
    assert LATE[0] in ok(paperboy(db_address, tmp_path, "similar", "2509.00001", "--json"))

    nothing = paperboy(db_address, tmp_path, "recommend", "discord:42")
    assert nothing.returncode == 1 and "saved and voted for no papers" in nothing.stdout
    paper = await db.fetchone("SELECT id FROM papers WHERE arxiv_id = '2509.00001'")
    await library.save(db, "discord:42", int(paper[0]), now=dt.datetime.now(dt.UTC))
    text = ok(paperboy(db_address, tmp_path, "recommend", "42"))
    assert "like the 1 they saved" in text and LATE[0] in text and "diffusion" in text
    wide = [json.loads(x) for x in ok(paperboy(db_address, tmp_path, "recommend", "discord:42", "--days", "60",
                                               "--limit", "3", "--json")).splitlines()]
    assert len(wide) == 3 and "2509.00001" not in [w["arxiv_id"] for w in wide]
    assert {w["title"] for w in wide} == {LATE[0], TOPICS["diffusion"][1][0], TOPICS["diffusion"][2][0]}

    refused(paperboy(db_address, tmp_path, "similar", "id:99999"), 1, "no paper in the archive matches")
    refused(paperboy(db_address, tmp_path, "similar"), 2, "similar needs PAPER")
    refused(paperboy(db_address, tmp_path, "similar", "x", "--rebuild"), 2, "not both")
    refused(paperboy(db_address, tmp_path, "similar", "x", "--limit", "26"), 2, "at most 25")
    refused(paperboy(db_address, tmp_path, "recommend", "discord:42", "--days", "91"), 2, "at most 90")
    refused(paperboy(db_address, tmp_path, "recommend", "bob"), 2, "bob")
