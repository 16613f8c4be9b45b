"""▲ Vote and ☆ Save buttons, /top and /library through the real discord.py client and the
loopback fake: answers are private (the shared message stays as it is), counts are right under
concurrent clicks, the export arrives as an attached file, and every answer fits Discord's limits
(the fake answers 400 to any that does not)."""

from __future__ import annotations

import asyncio

from bot.config import Settings
from storage import library as library_repo
from storage import votes as vote_repo
from testkit.discord_fake import FakeMessage
from testkit.discord_fake.records import InteractionHandle
from tests.e2e.bot_fixtures import settings_fixture, world_fixture  # noqa: F401 - fixtures
from tests.e2e.bot_harness import World, bounded, load_sample, private_answer, running_bot


def _one(message: FakeMessage, prefix: str) -> str:
    return next(c for c in message.custom_ids() if c.startswith(prefix))


async def _private_answer(click: InteractionHandle) -> str:
    return str((await private_answer(click)).get("content") or "")


@bounded
async def test_vote_buttons_answer_privately_with_the_count(world: World, settings: Settings) -> None:
    fake = world.fake
    async with running_bot(world, settings) as run:
        await load_sample(run)
        handle = await fake.slash("paper", {"title": "flash attention"}, guild=world.guild, channel=world.channel,
                                  user=world.member)
        card = await handle.original_response()
        vote, save = _one(card, "vote:"), _one(card, "save:")
        assert save == "save:" + vote.partition(":")[2]
        edits = len(card.edits)
        first = await _private_answer(await fake.click(card, vote, user=world.member))
        assert "You voted for" in first and "1 vote in this server" in first
        assert "2 votes in this server" in await _private_answer(await fake.click(card, vote, user=world.admin))
        back = await _private_answer(await fake.click(card, vote, user=world.member))
        assert "took back your vote" in back and "1 vote in this server" in back
        assert len(card.edits) == edits  # the shared card is left alone
        # Concurrent clicks by several members, each clicking twice at once: at most one vote each.
        others = [fake.add_member(world.guild, f"reader{i}") for i in range(4)]
        clicks = await asyncio.gather(*(fake.click(card, vote, user=u) for u in others for _ in range(2)))
        for click in clicks:
            await _private_answer(click)
        paper_id = int(vote.partition(":")[2])
        guild = f"discord:{world.guild.id}"
        holders = [u for u in others if await vote_repo.has_voted(run.app.db, guild, f"discord:{u.id}", paper_id)]
        assert await vote_repo.count(run.app.db, guild, paper_id) == 1 + len(holders)

        # The daily post's highlights (here /digest's first page): ▲ n votes for highlight n.
        digest = await (await fake.slash("digest", guild=world.guild, channel=world.channel,
                                         user=world.member)).original_response()
        assert digest.custom_ids()[0].startswith("digest:") and len(digest.custom_ids()) > 1
        highlight = _one(digest, "vote:")
        assert "1 vote in this server" in await _private_answer(await fake.click(digest, highlight, user=world.member))

        top = await fake.slash("top", {"period": "all"}, guild=world.guild, channel=world.channel, user=world.member)
        shown = await top.original_response()
        assert not shown.ephemeral and "Top papers in this server" in str(shown.embeds)
        assert all(a.ok for a in top.attempts)
        # The card's paper has 1 + len(holders) votes, the highlight 1, neither upvotes: ties go to the
        # older paper (smaller id).
        expected = [vote, highlight] if holders else sorted([vote, highlight], key=lambda c: int(c.partition(":")[2]))
        assert shown.custom_ids() == expected


@bounded
async def test_save_list_remove_and_export_the_library(world: World, settings: Settings) -> None:
    fake = world.fake
    async with running_bot(world, settings) as run:
        await load_sample(run)
        found = await (await fake.slash("search", {"query": "diffusion"}, guild=world.guild, channel=world.channel,
                                        user=world.member)).original_response()
        assert found.custom_ids()[:5] == [c for c in found.custom_ids() if c.startswith("save:")][:5]
        for custom_id in found.custom_ids()[:3]:
            assert "Saved" in await _private_answer(await fake.click(found, custom_id, user=world.member))
        user = f"discord:{world.member.id}"
        assert await library_repo.size(run.app.db, user) == 3

        listed = await fake.slash("library list", guild=world.guild, channel=world.channel, user=world.member)
        page = await listed.original_response()
        assert page.ephemeral and "Your library · 3 papers" in str(page.embeds)
        remove = _one(page, "lib:rm:")
        click = await fake.click(page, remove, user=world.member)
        response = await click.response()
        # The private list is updated in place: at once, or deferred (a busy machine) and then edited.
        assert response.ok and response.callback_type in (7, 6)
        await fake.wait_until(lambda: "Your library · 2 papers" in str(page.embeds), what="the list updated")
        assert await library_repo.size(run.app.db, user) == 2

        exported = await fake.slash("library export", {"format": "bibtex"}, guild=world.guild, channel=world.channel,
                                    user=world.member)
        answer = await exported.original_response()
        assert answer.ephemeral and "2 papers" in answer.content
        assert all(a.ok for a in exported.attempts)
        messages = {m.id: m for m in [answer, *exported.followups]}  # the first follow-up fills the original
        files = [a for m in messages.values() for a in m.data.get("attachments") or []]
        assert [a["filename"] for a in files] == ["paperboy-library.bib"] and 0 < files[0]["size"] < 10_000
        # In a direct message: the library works (it follows the user); a vote has no server.
        dm = await fake.slash("library list", user=world.member)
        assert "Your library · 2 papers" in str((await dm.original_response()).embeds)
