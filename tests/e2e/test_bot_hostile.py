"""Hostile paper data (mass mentions, 300-character titles, markdown) through every way the bot shows papers."""

from __future__ import annotations

import datetime as dt

from bot.config import Settings
from storage.records import PaperRecord, ParsedDigest
from testkit.discord_fake import FakeMessage, limits
from tests.e2e.bot_fixtures import settings_fixture, world_fixture  # noqa: F401 - fixtures
from tests.e2e.bot_harness import SAMPLE_ARRIVAL, World, bounded, running_bot
from tests.e2e.test_bot_notifications import set_up_daily_post

DAY = SAMPLE_ARRIVAL.date()
HOSTILE = [
    PaperRecord(title="@everyone Diffusion is all you need @here <@&1> <@42>",
                abstract="Ping @everyone and <@!42>; **bold** __under__ ||spoiler|| [link](https://evil.example)",
                arxiv_id="2509.00001", authors=["@everyone", "Mallory <@42>"]),
    PaperRecord(title="Diffusion " + "very " * 56 + "long title",  # 300+ characters
                abstract="x" * 5000, arxiv_id="2509.00002", authors=[f"Author {i}" for i in range(300)]),
    PaperRecord(title="# Heading diffusion\n> quote `code` ```block``` *emph* ~~strike~~",
                abstract="- list\n1. numbered\n@here", arxiv_id="2509.00003"),
]


def assert_safe(message: FakeMessage) -> None:
    payload = {k: message.data.get(k) for k in ("content", "embeds", "components")}
    assert limits.validate_message(payload, require_body=False) == []
    assert not message.mention_everyone and message.mentions == [] and not message.data.get("mention_roles")
    shown = message.content + str(message.embeds)
    assert "@everyone" not in shown and "@here" not in shown  # defused, not just un-pinged


@bounded
async def test_hostile_titles_give_valid_safe_payloads_everywhere(world: World, settings: Settings) -> None:
    fake = world.fake
    async with running_bot(world, settings) as run:
        await set_up_daily_post(world)
        await run.app.loader.load(ParsedDigest("hf-daily", DAY, "hf-api", HOSTILE))
        seen: list[FakeMessage] = []
        for name, options in [("search", {"query": "diffusion"}), ("digest", {}),
                              ("paper", {"title": "2509.00001"}), ("paper", {"title": "2509.00002"})]:
            handle = await fake.slash(name, options, guild=world.guild, channel=world.channel, user=world.member)
            seen.append(await handle.original_response())
            assert all(a.ok for a in handle.attempts), name
        typed = await fake.autocomplete("paper", {"title": "diffusion"}, focused="title", guild=world.guild,
                                        user=world.member)
        assert (await typed.response()).ok and typed.choices
        assert all(len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in typed.choices)
        run.clock.set(dt.datetime.combine(DAY, dt.time(7, 0), tzinfo=dt.UTC))
        report, _ = await run.app.settle()
        assert len(report.sent) == 1
    [post] = fake.messages_in(world.channel)
    for message in [*seen, post, *fake.messages_in(post.id)]:
        assert_safe(message)
