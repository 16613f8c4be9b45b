"""/vote, /top, /library and the ▲ Vote / ☆ Save buttons through the command dispatcher, on both
backends: toggling, one vote per member under concurrent presses, /top's periods and blend,
library add/remove/export with hostile titles; every reply fits Discord's limits."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import math
from collections.abc import AsyncIterator
from pathlib import Path

import bibtexparser
import pytest

from bot.app import App
from bot.chat.replies import Reply, violations
from bot.commands import Context, dispatch, press, suggest
from bot.community.actions import save_action, vote_action
from bot.config import Settings
from bot.display.titles import shown_title
from bot.schedule.clock import ManualClock
from bot.transports.console_render import ConsoleOutbound
from storage import votes as vote_repo
from storage.records import PaperRecord, ParsedDigest

pytestmark = pytest.mark.both_backends

NOW = dt.datetime(2025, 9, 10, 12, 0, tzinfo=dt.UTC)
SERVER = "console:lab"
HOSTILE = ["@everyone {Unbalanced} 100% of $x_1^2$ & #1", "Über Ωmega: 模型 — naïve \\textbf{bold}",
           "x\n@article{evil, title={pwn}}", "Deep nets", "Deep nets, again"]


async def _load(app: App) -> list[int]:
    """Papers: hostile titles (some with arXiv ids) on 2025-09-09 with Hugging Face upvotes; one
    paper listed 40 days earlier with many upvotes."""
    papers = [PaperRecord(title=t, abstract=f"About {t}.", arxiv_id=f"2509.{i:05d}" if i % 2 else None,
                          authors=["Ada Lovelace", "Doe, Jane"], categories=["cs.LG"], upvotes=[3, 0, 40, 1, 7][i])
              for i, t in enumerate(HOSTILE)]
    await app.loader.load(ParsedDigest("hf-daily", dt.date(2025, 9, 9), "hf-api", papers))
    old = PaperRecord(title="An old favourite", abstract="Old.", arxiv_id="2507.00001", upvotes=900)
    await app.loader.load(ParsedDigest("hf-daily", dt.date(2025, 7, 31), "hf-api", [old]))
    ids = []
    for t in [*HOSTILE, "An old favourite"]:
        paper = await app.services.community.find_paper(t.replace("\n", " "))
        ids.append(paper.id)
    assert len(set(ids)) == len(ids)
    return ids


@pytest.fixture
async def app(db_address: str, tmp_path: Path) -> AsyncIterator[App]:
    settings = Settings()
    settings.database.url = db_address
    opened = await App.open(settings, ConsoleOutbound(lambda _: None), clock=ManualClock(NOW))
    try:
        await opened.services.lookup.start()
        yield opened
    finally:
        await opened.close()


def member(app: App, name: str = "alice", guild: str | None = SERVER) -> Context:
    return app.context(f"console:{name}", guild_id=guild, channel_id="console:general", user_name=name)


def fits(reply: Reply) -> Reply:
    assert violations(reply) == []
    assert "@everyone" not in reply.text and "@here" not in reply.text
    return reply


async def test_the_vote_button_toggles_and_shows_the_count(app: App) -> None:
    ids = await _load(app)
    card = fits(await dispatch("paper", {"title": f"id:{ids[1]}"}, member(app)))
    assert [b.label for b in card.buttons][-3:] == ["▲ Vote", "☆ Save", "≈ More like this"]
    vote = card.buttons[-3].action
    assert vote == vote_action(ids[1])
    first = fits(await press(vote, member(app)))
    assert first.private and "You voted for" in first.text and "1 vote in this server" in first.text
    assert "2 votes in this server" in fits(await press(vote, member(app, "bob"))).text
    back = fits(await press(vote, member(app)))
    assert "took back your vote" in back.text and "1 vote in this server" in back.text
    # Another server counts its own; a direct message has no server to count in.
    assert "1 vote in" in (await press(vote, member(app, guild="console:other"))).text
    dm = fits(await press(vote, member(app, guild=None)))
    assert dm.private and "per server" in dm.text
    # /vote takes a PAPER as a title, an arXiv id, or id:N; all toggle the same vote.
    assert "You voted for **Deep nets, again**: 1 vote" in fits(
        await dispatch("vote", {"paper": "Deep nets again"}, member(app))).text
    assert "took back your vote for **Deep nets, again**: 0 votes" in fits(
        await dispatch("vote", {"paper": f"id:{ids[4]}"}, member(app))).text
    by_arxiv = fits(await dispatch("vote", {"paper": "2509.00001"}, member(app)))
    assert "You voted for" in by_arxiv.text and "2 votes" in by_arxiv.text
    missing = fits(await dispatch("vote", {"paper": "id:999999"}, member(app)))
    assert missing.private and "no paper in the archive matches" in missing.text
    assert "gone" not in fits(await press("vote:999999", member(app))).text
    assert "no longer in the archive" in (await press("vote:999999", member(app))).text


async def test_concurrent_presses_count_each_member_once(app: App) -> None:
    ids = await _load(app)
    vote = vote_action(ids[0])
    members = [member(app, f"m{i}") for i in range(8)]
    # Every member presses "▲ Vote" twice at once (a double click): the presses race on the one
    # vote row; whatever their order, a member holds at most one vote.
    await asyncio.gather(*(press(vote, m) for m in members for _ in range(2)))
    holders = [m for m in members if await vote_repo.has_voted(app.db, SERVER, m.user_id, ids[0])]
    assert await vote_repo.count(app.db, SERVER, ids[0]) == len(holders) <= 8
    # One press each, all at once: every member counted exactly once.
    await asyncio.gather(*(app.services.community.vote(SERVER, m.user_id, ids[1], now=NOW, want=True)
                           for m in members for _ in range(3)))
    assert await vote_repo.count(app.db, SERVER, ids[1]) == 8


async def test_top_blends_votes_with_upvotes_per_period(app: App) -> None:
    ids = await _load(app)
    for who in ("a", "b"):
        await vote_repo.cast(app.db, SERVER, f"console:{who}", ids[3], now=NOW - dt.timedelta(days=1))
    await vote_repo.cast(app.db, SERVER, "console:a", ids[4], now=NOW - dt.timedelta(days=20))
    await vote_repo.cast(app.db, "console:other", "console:a", ids[0], now=NOW)
    week = fits(await dispatch("top", {}, member(app)))
    # This week: 2 votes + log10(2) beats 40 upvotes (log10(41)), then 7 and 3 upvotes; the
    # other server's vote and the month-old vote do not count; 0 upvotes and no votes: not listed.
    # "▲ n" votes for paper n, so the buttons give the order.
    assert [b.action for b in week.buttons] == [vote_action(ids[i]) for i in (3, 2, 4, 0)]
    body = week.cards[0].description
    assert "**1.** [Deep nets](https://arxiv.org/abs/2509.00003)\n▲ 2 votes · 1 upvote at the source" in body
    assert "@everyone" not in body and "old favourite" not in body
    month = fits(await dispatch("top", {"period": "month"}, member(app)))
    # 1 vote + log10(8) = 1.90 now outranks 40 upvotes (1.61).
    assert [b.action for b in month.buttons] == [vote_action(ids[i]) for i in (3, 4, 2, 0)]
    ever = fits(await dispatch("top", {"period": "all"}, member(app)))
    assert [b.action for b in ever.buttons] == [vote_action(ids[i]) for i in (5, 3, 4, 2, 0)]  # 900 upvotes: 2.95
    entries = await app.services.community.top(SERVER, None, 10)
    assert [round(e.score, 6) for e in entries] == sorted((round(e.score, 6) for e in entries), reverse=True)
    assert [e.score for e in entries[:2]] == pytest.approx([math.log10(901), 2 + math.log10(2)])
    assert "Nothing voted for" in fits(await dispatch("top", {}, member(app, guild="console:empty"))).text \
        or fits(await dispatch("top", {}, member(app, guild="console:empty"))).cards
    refused = fits(await dispatch("top", {}, member(app, guild=None)))
    assert refused.private and "server" in refused.text


async def test_library_add_remove_and_export_hostile_titles(app: App) -> None:
    ids = await _load(app)
    alice = member(app)
    assert "empty" in fits(await dispatch("library list", {}, alice)).text
    for paper_id in ids[:5]:
        saved = fits(await press(save_action(paper_id), alice))
        assert saved.private and "Saved" in saved.text
    assert "already" in fits(await dispatch("library save", {"paper": f"id:{ids[0]}"}, alice)).text
    listing = fits(await dispatch("library list", {}, alice))
    assert listing.private and listing.cards[0].title == "Your library · 5 papers"
    assert "@everyone" not in listing.cards[0].description  # defused
    assert [b.label for b in listing.buttons] == ["✕ 1", "✕ 2", "✕ 3", "✕ 4", "✕ 5"]
    # ✕ 1 removes the most recently saved, and shows the list again.
    after = fits(await press(listing.buttons[0].action, alice))
    assert after.cards[0].title == "Your library · 4 papers"
    # Pressing ☆ Save again takes a paper out; /library remove takes a title, suggested from the library.
    assert "Took" in fits(await press(save_action(ids[3]), alice)).text
    choices = await app.services.community.library_page(alice.user_id, 1, 200)
    assert len(choices.entries) == 3
    suggested = await suggest("library remove", "paper", "ωmega", alice)
    assert [c.value for c in suggested] == [f"id:{ids[1]}"]
    assert "Took" in fits(await dispatch("library remove", {"paper": suggested[0].value}, alice)).text
    # A title to remove is looked for among the saved papers first ("deep" is the saved "Deep nets, again",
    # not the archive's best match for "deep").
    await app.services.community.save(alice.user_id, ids[4], now=NOW)
    assert "Took **Deep nets, again**" in fits(await dispatch("library remove", {"paper": "deep"}, alice)).text
    # The library is the user's own: bob's is empty.
    assert "empty" in (await dispatch("library list", {}, member(app, "bob"))).text
    for paper_id in ids:
        await app.services.community.save(alice.user_id, paper_id, now=NOW)
    bib = fits(await dispatch("library export", {"format": "bibtex"}, alice))
    assert bib.private and [a.filename for a in bib.attachments] == ["paperboy-library.bib"]
    parsed = bibtexparser.parse_string(bib.attachments[0].data.decode("utf-8"))
    assert parsed.failed_blocks == [] and len(parsed.entries) == 6
    assert len({e.key for e in parsed.entries}) == 6
    arxiv = [e for e in parsed.entries if "eprint" in e.fields_dict]
    assert sorted(e.fields_dict["eprint"].value for e in arxiv) == ["2507.00001", "2509.00001", "2509.00003"]
    assert all(e.fields_dict["archivePrefix"].value == "arXiv" for e in arxiv)
    table = fits(await dispatch("library export", {"format": "csv"}, alice))
    rows = list(csv.DictReader(io.StringIO(table.attachments[0].data.decode("utf-8"))))
    assert sorted(r["title"].removeprefix("'") for r in rows) == sorted(
        shown_title(t) for t in [*HOSTILE, "An old favourite"])
    lines = fits(await dispatch("library export", {"format": "jsonl"}, alice))
    objects = [json.loads(line) for line in lines.attachments[0].data.decode("utf-8").splitlines()]
    assert {o["paper_id"] for o in objects} == set(ids)


async def test_an_export_over_the_attachment_limit_keeps_the_newest(app: App) -> None:
    ids = await _load(app)
    for n, paper_id in enumerate(ids):
        await app.services.community.save("console:alice", paper_id, now=NOW + dt.timedelta(minutes=n))
    whole = await app.services.community.export_library("console:alice", "jsonl")
    cut = await app.services.community.export_library("console:alice", "jsonl", max_bytes=len(whole.data) // 2)
    assert len(cut.data) <= len(whole.data) // 2 and 1 <= cut.papers < len(ids)
    first = json.loads(cut.data.decode("utf-8").splitlines()[0])
    assert first["paper_id"] == ids[-1]  # the most recently saved
