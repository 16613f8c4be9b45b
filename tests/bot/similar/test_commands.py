"""/similar, /recommend and the ≈ More like this button through the command dispatcher, and the weekly
"for you" message sent once per member per week across a restart, on both backends."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from bot.app import App
from bot.chat.outbound import Sent, TemporaryFailure
from bot.chat.replies import Reply, violations
from bot.commands import Context, dispatch, press
from bot.community.actions import similar_action
from bot.config import Settings
from bot.schedule.clock import ManualClock
from bot.similar.weekly import WeeklyRecommendations, week_of
from bot.transports.console_render import ConsoleOutbound
from storage import guilds, library
from storage import recommend as recommend_repo
from storage.backends import open_database
from storage.db import Database
from storage.guilds import GuildSchedule
from storage.records import ParsedDigest
from tests.bot.similar.corpus import LATE, TOPICS, first_digest, record, second_digest

pytestmark = pytest.mark.both_backends

NOW = dt.datetime(2025, 9, 10, 12, 0, tzinfo=dt.UTC)  # a Wednesday


@pytest.fixture
async def app(db_address: str) -> AsyncIterator[App]:
    settings = Settings()
    settings.database.url = db_address
    opened = await App.open(settings, ConsoleOutbound(lambda _: None), clock=ManualClock(NOW))
    try:
        await opened.services.lookup.start()
        await opened.loader.load(first_digest(dt.date(2025, 8, 1)))
        await opened.loader.load(second_digest(dt.date(2025, 9, 9)))
        yield opened
    finally:
        await opened.close()


def member(app: App, name: str = "alice") -> Context:
    return app.context(f"console:{name}", guild_id="console:lab", channel_id="console:general", user_name=name)


def fits(reply: Reply) -> Reply:
    assert violations(reply) == []
    return reply


def text(reply: Reply) -> str:
    return reply.text + "".join(c.title + c.description + c.footer for c in reply.cards)


async def test_similar_takes_any_paper_form_and_the_card_button_shows_the_same(app: App) -> None:
    title = TOPICS["protein"][0][0]
    by_title = fits(await dispatch("similar", {"paper": "predicting protein structure"}, member(app)))
    assert not by_title.private and by_title.cards[0].title == f"More like: {title}"
    shown = by_title.cards[0].description
    assert TOPICS["protein"][1][0] in shown and TOPICS["protein"][2][0] in shown and "% alike" in shown
    assert shown.index(TOPICS["protein"][1][0]) < shown.index(TOPICS["diffusion"][0][0]) if \
        TOPICS["diffusion"][0][0] in shown else True
    paper = await app.services.community.find_paper(title)
    assert text(fits(await dispatch("similar", {"paper": f"id:{paper.id}"}, member(app)))) == text(by_title)
    assert text(fits(await dispatch("similar", {"paper": f"https://arxiv.org/abs/{paper.arxiv_id}v2"},
                                    member(app)))) == text(by_title)
    # The paper card's ≈ More like this, and ≈ n on the answer, run the same.
    card = fits(await dispatch("paper", {"title": f"id:{paper.id}"}, member(app)))
    more = next(b.action for b in card.buttons if b.label == "≈ More like this")
    assert more == similar_action(paper.id)
    pressed = fits(await press(more, member(app)))
    assert pressed.private and text(pressed) == text(by_title)  # the shared card stays as it is
    first = by_title.buttons[0]
    assert first.label == "≈ 1" and "More like:" in text(fits(await press(first.action, member(app))))
    missing = fits(await dispatch("similar", {"paper": "id:999999"}, member(app)))
    assert missing.private and "no paper in the archive matches" in missing.text
    assert "no longer in the archive" in fits(await press("like:999999", member(app))).text


async def test_recommend_explains_and_weekly_opts_in_and_out(app: App) -> None:
    none = fits(await dispatch("recommend", {}, member(app)))
    assert none.private and "none yet" in none.text
    diffusion = await app.services.community.find_paper(TOPICS["diffusion"][0][0])
    await app.services.community.save("console:alice", diffusion.id, now=NOW)
    got = fits(await dispatch("recommend", {}, member(app)))
    assert got.private and got.cards[0].title == "For you: papers from the last 7 days"
    assert LATE[0] in got.cards[0].description and "diffusion" in got.cards[0].description
    assert "/recommend weekly:on" in got.cards[0].footer
    wide = fits(await dispatch("recommend", {"days": 60}, member(app)))
    shown = wide.cards[0].description
    assert shown.count("% alike") > 2 and TOPICS["diffusion"][1][0] in shown
    assert TOPICS["diffusion"][0][0] not in shown  # theirs left out
    on = fits(await dispatch("recommend", {"weekly": "on"}, member(app)))
    assert on.text.startswith("Weekly message on") and "weekly message: on" in on.cards[0].footer
    assert "already on" in fits(await dispatch("recommend", {"weekly": "on"}, member(app))).text
    assert await recommend_repo.is_weekly(app.db, "console:alice")
    assert "Weekly message off" in fits(await dispatch("recommend", {"weekly": "off"}, member(app))).text
    assert not await recommend_repo.is_weekly(app.db, "console:alice")


@dataclass
class Transport:
    """Direct messages as Discord delivers them: a repeated key (nonce) within the window is the
    first message again. `die` ends the process (BaseException: nothing after it runs) before or
    after the message is delivered."""

    delivered: list[tuple[str, Reply]] = field(default_factory=list)
    keys: dict[str, Sent] = field(default_factory=dict)
    die: str | None = None  # "before" or "after"
    fail: Exception | None = None

    async def post(self, channel_id: str, reply: Reply, *, key: str | None = None) -> Sent:
        raise AssertionError("the weekly message is direct")

    async def start_thread(self, message: Sent, name: str) -> str:
        raise AssertionError("no threads")

    async def send_direct(self, user_id: str, reply: Reply, *, key: str | None = None) -> Sent:
        if self.die == "before":
            raise Killed
        if self.fail is not None:
            raise self.fail
        assert key is not None
        if key not in self.keys:
            self.delivered.append((user_id, reply))
            self.keys[key] = Sent(f"dm:{user_id}", str(len(self.delivered)))
        if self.die == "after":
            raise Killed
        return self.keys[key]


class Killed(BaseException):
    """The process died here."""


async def _opted_in(db: Database, *names: str) -> None:
    for name in names:
        await recommend_repo.set_weekly(db, f"discord:{name}", True, now=NOW)
        paper = await db.fetchone("SELECT id FROM papers WHERE arxiv_id = '2509.00001'")
        await library.save(db, f"discord:{name}", int(paper[0]), now=NOW)


async def test_the_weekly_message_goes_once_per_member_per_week_across_restarts(app: App, db_address: str) -> None:
    await _opted_in(app.db, "1", "2", "3")
    await recommend_repo.set_weekly(app.db, "console:bob", True, now=NOW)  # another transport's member
    clock = ManualClock(NOW)
    transport = Transport()
    # Member 1's message goes out, then the process dies before 'sent' is written.
    transport.die = "after"
    with pytest.raises(Killed):
        await WeeklyRecommendations(app.db, transport, clock, prefix="discord:").send_due()
    assert len(transport.delivered) == 1
    assert [r.status for r in await recommend_repo.weekly_sends(app.db)] == ["sending"]

    # A restart: another database connection, another sender. Recovery re-sends member 1's with its
    # key (delivered once: the nonce), then the round sends members 2 and 3.
    clock.advance(dt.timedelta(seconds=45))
    transport.die = None
    async with await open_database(db_address) as db:
        sender = WeeklyRecommendations(db, transport, clock, prefix="discord:")
        assert await sender.recover() == 1
        assert await sender.send_due() == 2
        assert await sender.send_due() == 0  # the same week: nothing more
        clock.advance(dt.timedelta(days=2))
        assert await sender.send_due() == 0
        rows = await recommend_repo.weekly_sends(db)
    assert [(r.user_id, r.week, r.status) for r in rows] == [
        (f"discord:{n}", week_of(NOW), "sent") for n in "123"]
    assert [u for u, _ in transport.delivered] == ["discord:1", "discord:2", "discord:3"]
    dm = transport.delivered[0][1]
    assert fits(dm).cards[0].title == "For you: papers from this week" and not dm.private and not dm.buttons
    assert LATE[0] in dm.cards[0].description

    # Next week (Monday morning: 08:00 UTC for members who opted in outside a server): one more
    # each, except member 3 whose process died before sending and came back too late for the
    # nonce: 'unknown', never sent twice.
    clock.set(dt.datetime(2025, 9, 15, 7, 59, tzinfo=dt.UTC))
    assert await WeeklyRecommendations(app.db, transport, clock, prefix="discord:").send_due() == 0
    clock.set(dt.datetime(2025, 9, 15, 8, 5, tzinfo=dt.UTC))
    transport.die = "before"
    with pytest.raises(Killed):
        await WeeklyRecommendations(app.db, transport, clock, prefix="discord:").send_due()
    clock.advance(dt.timedelta(minutes=10))
    transport.die = None
    sender = WeeklyRecommendations(app.db, transport, clock, prefix="discord:")
    assert await sender.recover() == 0
    assert await sender.send_due() == 2
    this_week = {r.user_id: r.status for r in await recommend_repo.weekly_sends(app.db) if r.week == "2025-W38"}
    assert this_week == {"discord:1": "unknown", "discord:2": "sent", "discord:3": "sent"}
    assert len(transport.delivered) == 5


async def test_a_temporary_failure_is_sent_again_and_closed_messages_fail(app: App) -> None:
    await _opted_in(app.db, "1")
    await recommend_repo.set_weekly(app.db, "discord:4", True, now=NOW)  # saved nothing: nothing to send
    transport = Transport(fail=TemporaryFailure("503"))
    sender = WeeklyRecommendations(app.db, transport, ManualClock(NOW), prefix="discord:")
    assert await sender.send_due() == 0
    assert {r.user_id: r.status for r in await recommend_repo.weekly_sends(app.db)} == {
        "discord:1": "retry", "discord:4": "empty"}
    transport.fail = None
    assert await sender.send_due() == 1
    assert await sender.send_due() == 0
    assert len(transport.delivered) == 1


async def test_the_weekly_message_comes_on_monday_morning_in_the_members_server_zone(app: App) -> None:
    """UTC+13 (Tonga) and UTC-8 (California in winter), and no server at all (08:00 UTC): each
    member's Monday morning, once a week, whatever the UTC week says."""
    db = app.db
    await guilds.save_schedule(db, GuildSchedule("discord:tonga", "discord:c1", dt.time(8, 0), "Pacific/Tongatapu"))
    await guilds.save_schedule(db, GuildSchedule("discord:la", "discord:c2", dt.time(9, 30), "America/Los_Angeles"))
    wednesday = dt.datetime(2026, 1, 7, 12, 0, tzinfo=dt.UTC)
    await app.loader.load(ParsedDigest(source="hf-daily", date=dt.date(2026, 1, 6), format="hf-api",
                                       papers=[record(LATE[0] + " Again", LATE[1], "2601.00001")]))
    seed = await app.services.community.find_paper(TOPICS["diffusion"][0][0])
    for user, guild in (("discord:tonga", "discord:tonga"), ("discord:la", "discord:la"), ("discord:dm", None)):
        await recommend_repo.set_weekly(db, user, True, now=wednesday, guild_id=guild)
        await library.save(db, user, seed.id, now=wednesday)
    clock = ManualClock(wednesday)
    transport = Transport()
    sender = WeeklyRecommendations(db, transport, clock, prefix="discord:")

    async def round_at(moment: dt.datetime) -> list[str]:
        clock.set(moment)
        before = len(transport.delivered)
        await sender.send_due()
        return [u for u, _ in transport.delivered[before:]]

    # Opting in mid-week: this week's at once, in each member's own week.
    assert sorted(await round_at(wednesday)) == ["discord:dm", "discord:la", "discord:tonga"]
    assert await round_at(wednesday + dt.timedelta(hours=1)) == []
    # Sunday 18:59 UTC is Monday 07:59 in Tonga: not yet; 19:00 UTC is Monday 08:00 there.
    assert await round_at(dt.datetime(2026, 1, 11, 18, 59, tzinfo=dt.UTC)) == []
    assert await round_at(dt.datetime(2026, 1, 11, 19, 0, tzinfo=dt.UTC)) == ["discord:tonga"]
    assert await round_at(dt.datetime(2026, 1, 12, 7, 59, tzinfo=dt.UTC)) == []
    assert await round_at(dt.datetime(2026, 1, 12, 8, 0, tzinfo=dt.UTC)) == ["discord:dm"]
    # Monday 09:30 in Los Angeles is 17:30 UTC.
    assert await round_at(dt.datetime(2026, 1, 12, 17, 29, tzinfo=dt.UTC)) == []
    assert await round_at(dt.datetime(2026, 1, 12, 17, 30, tzinfo=dt.UTC)) == ["discord:la"]
    # The rest of the week, and a restarted sender: nothing more.
    assert await round_at(dt.datetime(2026, 1, 16, 12, 0, tzinfo=dt.UTC)) == []
    again = WeeklyRecommendations(db, transport, clock, prefix="discord:")
    assert await again.recover() == 0 and await again.send_due() == 0
    weeks = {(r.user_id, r.week) for r in await recommend_repo.weekly_sends(db) if r.status == "sent"}
    assert weeks == {(u, w) for u in ("discord:tonga", "discord:la", "discord:dm") for w in ("2026-W02", "2026-W03")}
    # /recommend weekly:on says when, in the server's zone.
    ctx = app.context("console:kim", guild_id="discord:tonga", user_name="kim")
    on = fits(await dispatch("recommend", {"weekly": "on"}, ctx))
    assert on.text.startswith("Weekly message on: each Monday at 08:00 Pacific/Tongatapu")
