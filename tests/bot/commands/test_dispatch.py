"""Every command through `dispatch` on the sample digest: answers, refusals, paging buttons,
suggestions, and hostile input in every option — each reply fits Discord, none is a traceback."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from bot.chat.replies import Attachment, Reply, violations
from bot.commands import BY_NAME, Context, dispatch, press, suggest
from bot.ingest.load import IngestOptions, ingest
from testkit.hostile_options import HOSTILE, TARGETS

# A valid value for each required option, so the hostile one is what is tested.
FILL = {"query": "diffusion", "title": "flash attention", "topic": "diffusion", "paper": "flashattention",
        "channel": "#papers", "time": "09:00", "timezone": "Europe/Berlin", "papers": "3"}

HAPPY = [
    ("search", {"query": "diffusion models"}, "papers match"),
    ("search", {"query": "diffusion", "since": "2025-09-01", "until": "2025-09-30"}, "papers match"),
    ("paper", {"title": "flash atention"}, "FlashAttention"),
    ("digest", {}, "hf-daily"),
    ("digest", {"date": "2025-09-09"}, "Themes of the day"),
    ("subscribe", {"topic": "diffusion models"}, "You now follow"),
    ("subscribe", {"topic": "attention", "preview": "yes"}, "not saved"),
    ("subscriptions", {}, "You follow no topics"),
    ("notifications pause", {}, "paused"),
    ("notifications cap", {"papers": 5}, "at most 5 papers"),
    ("notifications channel", {}, "digest thread"),
    ("why", {"topic": "diffusion", "paper": "Q-Diffusion"}, "matches"),
    ("help", {}, "/search"),
    ("help", {"command": "setup"}, "/setup channel"),
    ("about", {}, "144 papers"),
]


def text_of(reply: Reply) -> str:
    parts = [reply.text] + [b.label for b in reply.buttons]
    for card in reply.cards:
        parts += [card.title, card.description, card.footer] + [f"{f.name} {f.value}" for f in card.fields]
    return "\n".join(parts)


def check(reply: Reply) -> str:
    assert violations(reply) == []
    text = text_of(reply)
    assert "Traceback" not in text
    return text


@pytest.mark.parametrize(("name", "options", "expected"), HAPPY, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(HAPPY)])
async def test_each_command_answers(member: Context, name: str, options: dict[str, Any], expected: str) -> None:
    reply = await dispatch(name, options, member)
    assert expected in check(reply)


@pytest.mark.parametrize(("name", "options"), [
    ("setup channel", {"channel": "#papers", "time": "09:00", "timezone": "Europe/Berlin"}),
    ("setup pause", {}), ("ingest", {"url": "https://example.org/x"}), ("status", {}),
])
async def test_admin_commands_refuse_members(member: Context, name: str, options: dict[str, Any]) -> None:
    reply = await dispatch(name, options, member)
    assert reply.private and "for server admins" in check(reply)


async def test_admin_setup_status_and_server_only(admin: Context, direct: Context) -> None:
    saved = await dispatch("setup channel", {"channel": "#papers", "time": "9:30", "timezone": "Asia/Tokyo",
                                             "thread": "no", "role": "<@&42>"}, admin)
    assert "at 09:30 Asia/Tokyo, no thread, mentioning role 42" in check(saved) and saved.private
    assert "paused" in check(await dispatch("setup pause", {}, admin))
    status = check(await dispatch("status", {}, admin))
    assert "hf-daily · 2025-09-09 · 144 papers" in status and "paused" in status
    # The sources' health, with what is stored from a source however it came (#20).
    assert "Sources hf-daily: not fetched yet (1 digest stored, loaded by hand), newest digest 2025-09-09" in status
    refused = await dispatch("setup resume", {}, direct)
    assert "works in a server" in check(refused)
    bad = await dispatch("setup channel", {"channel": "#papers", "time": "25:00", "timezone": "Mars/Base"}, admin)
    assert "time '25:00' is not a time of day" in check(bad)


async def test_ingest_an_attached_file_and_refuse_bad_ones(admin: Context, fixtures: Any) -> None:
    data = (fixtures / "hf-daily-papers-api-sample.json").read_bytes()
    loaded = await dispatch("ingest", {"file": Attachment("api.json", data)}, admin)
    assert "hf-daily 2024-07-09: 2 papers" in check(loaded)  # one digest per listing day
    # A smaller capture of a Hugging Face day keeps the day whole and says so (issue #13).
    items = json.loads(data)
    smaller = json.dumps([i for i in items if i["paper"]["id"] == "2407.05000"]).encode()
    again = await dispatch("ingest", {"file": Attachment("api.json", smaller)}, admin)
    assert "hf-daily 2024-07-09: 1 papers (already stored, unchanged, 1 kept that this capture lacks)" in check(again)
    garbage = await dispatch("ingest", {"file": Attachment("../../etc/passwd", b"\x00\x01 not a digest")}, admin)
    text = check(garbage)
    assert garbage.private and "Could not load passwd" in text and "/tmp" not in text
    both = await dispatch("ingest", {}, admin)
    assert "exactly one of" in check(both)


@pytest.mark.parametrize(("name", "options", "expected"), [
    ("nosuch", {}, "There is no /nosuch"),
    ("setup", {}, "needs one of: channel, pause, resume"),
    ("search", {}, "needs query"),
    ("search", {"query": "x", "colour": "red"}, "has no option 'colour'"),
    ("search", {"query": "x", "since": "yesterday"}, "since 'yesterday' is not a date"),
    ("search", {"query": "x", "since": "2025-09-10", "until": "2025-09-01"}, "is after until"),
    ("notifications cap", {"papers": "lots"}, "not a whole number"),
    ("notifications cap", {"papers": 99}, "from 1 to 25"),
    ("paper", {"title": "zzzzqqqq xxxyyy"}, "No paper in the archive resembles"),
    ("digest", {"date": "2020-01-01"}, "No digest for 2020-01-01"),
    ("unsubscribe", {"topic": "never followed"}, "you do not follow"),
])
async def test_bad_input_is_a_short_private_refusal(member: Context, name: str, options: dict[str, Any],
                                                     expected: str) -> None:
    reply = await dispatch(name, options, member)
    assert reply.private and expected in check(reply) and len(reply.text) < 700


async def test_an_unexpected_error_is_logged_and_answered_briefly(member: Context, monkeypatch: pytest.MonkeyPatch,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr("bot.commands.search.search", broken)
    with caplog.at_level(logging.ERROR):
        reply = await dispatch("search", {"query": "x"}, member)
    assert reply.private and "something went wrong while running /search" in check(reply)
    assert "database on fire" not in reply.text
    assert any(r.exc_info and "database on fire" in str(r.exc_info[1]) for r in caplog.records)


async def test_commands_suggestions_and_buttons_count_as_in_flight(member: Context,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """What background work waits for (bot/activity.py): every kind of interaction, failed or not."""
    activity = member.services.activity
    seen: list[int] = []

    async def watching(*args: object, **kwargs: object) -> None:
        seen.append(activity.in_flight)
        raise RuntimeError("database on fire")

    monkeypatch.setattr("bot.commands.search.search", watching)
    monkeypatch.setattr(member.services.lookup, "autocomplete", watching)
    monkeypatch.setattr(member.services.lookup, "resolve", watching)
    await dispatch("search", {"query": "x"}, member)
    await press("paper:arxiv:2401.15024", member)
    await suggest("paper", "title", "diff", member)
    assert seen == [1, 1, 1] and activity.in_flight == 0


async def test_search_pages_forward_and_back_from_button_actions_alone(member: Context) -> None:
    first = await dispatch("search", {"query": "diffusion"}, member)
    assert [b.label for b in first.buttons] == ["☆ 1", "☆ 2", "☆ 3", "☆ 4", "☆ 5", "Next ▶"]
    second = await press(first.buttons[-1].action, member)
    assert "Results 6–10" in check(second)
    back = await press(next(b.action for b in second.buttons if "Previous" in b.label), member)
    assert text_of(back) == text_of(first)
    assert "no longer works" in check(await press("bogus:1", member))
    assert "cannot read" in check(await press("search:1:2025x:::q", member))


async def test_digest_pages_and_paper_buttons(member: Context) -> None:
    post = await dispatch("digest", {}, member)
    page2 = await press(next(b.action for b in post.buttons if b.action.startswith("digest:")), member)
    assert "Page 2 of" in check(page2)
    assert "That digest has" in check(await press("digest:1:p99", member))
    found = await dispatch("paper", {"title": "diffusion language"}, member)
    other = await press(next(b.action for b in found.buttons if b.action.startswith("paper:")), member)
    assert other.cards and other.cards[0].title != found.cards[0].title


async def test_suggestions(member: Context, admin: Context) -> None:
    titles = await suggest("paper", "title", "flash att", member)
    assert titles and any("FlashAttention" in c.name for c in titles) and len(titles) <= 25
    resolved = await dispatch("paper", {"title": titles[0].value}, member)
    # An exact choice: no "other matches", only the card's own ▲ Vote and ☆ Save.
    assert [b.label for b in resolved.buttons] == ["▲ Vote", "☆ Save", "≈ More like this"]
    assert await suggest("setup channel", "timezone", "berl", member) == []  # not an admin
    assert [c.value for c in await suggest("setup channel", "timezone", "berl", admin)] == ["Europe/Berlin"]
    assert [c.value for c in await suggest("digest", "date", "2025-09", member)] == ["2025-09-09"]
    await dispatch("subscribe", {"topic": "diffusion models"}, member)
    assert [c.value for c in await suggest("unsubscribe", "topic", "diff", member)] == ["diffusion models"]
    assert await suggest("nosuch", "x", "y", member) == []


@pytest.mark.parametrize(("name", "option"), TARGETS, ids=[f"{n}.{o}" for n, o in TARGETS])
async def test_hostile_input_in_every_option(admin: Context, name: str, option: str,
                                             caplog: pytest.LogCaptureFixture) -> None:
    spec = BY_NAME[name]
    for value in HOSTILE:
        options: dict[str, Any] = {o.name: FILL[o.name] for o in spec.options if o.required}
        options[option] = value
        with caplog.at_level(logging.ERROR):
            reply = await dispatch(name, options, admin)
        text = check(reply)
        assert "\x00" not in text and "\u202e" not in text and "@everyone" not in text.replace("@\u200beveryone", "")
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], (name, option, value)
        for o in spec.options:
            if o.suggest is not None:
                for choice in await suggest(name, o.name, value, admin):
                    assert 1 <= len(choice.name) <= 100 and 1 <= len(choice.value) <= 100


async def test_hostile_ingest_url_and_files(admin: Context) -> None:
    for url in ["file:///etc/passwd", "javascript:alert(1)", "https://exa mple.org", "x" * 3000]:
        assert (await dispatch("ingest", {"url": url}, admin)).private
    reply = await dispatch("ingest", {"file": Attachment("\u202e**x**.txt", b"\x00" * 10)}, admin)
    assert "Could not load" in check(reply)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/digest.json", "http://localhost/x", "http://10.1.2.3/x",
                                 "http://[::1]/x", "http://169.254.169.254/latest/meta-data"])
async def test_chat_ingest_refuses_local_and_private_urls(admin: Context, url: str) -> None:
    reply = await dispatch("ingest", {"url": url}, admin)
    assert reply.private and "private or local address" in reply.text


async def test_date_suggestions_leave_out_archive_import_days(app: App, member: Context) -> None:
    snapshot = Path(__file__).resolve().parents[2] / "fixtures/ingest/arxiv-snapshot-sample.jsonl"
    assert (await ingest(app.loader, str(snapshot), IngestOptions())).ok
    assert [c.value for c in await suggest("digest", "date", "", member)] == ["2025-09-09"]
    assert await suggest("digest", "date", "2022", member) == []
