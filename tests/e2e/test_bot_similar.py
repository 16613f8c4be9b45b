"""/similar, the ≈ More like this button and /recommend through the real discord.py client and the
loopback fake: /similar answers in the channel, /recommend privately, and every answer fits
Discord's limits (the fake answers 400 to any that does not)."""

from __future__ import annotations

from bot.config import Settings
from testkit.discord_fake import FakeMessage
from tests.e2e.bot_fixtures import settings_fixture, world_fixture  # noqa: F401 - fixtures
from tests.e2e.bot_harness import World, bounded, load_sample, private_answer, running_bot


def _one(message: FakeMessage, prefix: str) -> str:
    return next(c for c in message.custom_ids() if c.startswith(prefix))


@bounded
async def test_similar_more_like_this_and_recommend(world: World, settings: Settings) -> None:
    fake = world.fake
    async with running_bot(world, settings) as run:
        await load_sample(run)  # the load weighs its papers for the index
        asked = await fake.slash("similar", {"paper": "flash attention"}, guild=world.guild, channel=world.channel,
                                 user=world.member)
        answer = await asked.original_response()
        assert all(a.ok for a in asked.attempts) and not answer.ephemeral
        shown = str(answer.embeds)
        assert "More like: FlashAttention" in shown and "% alike" in shown
        assert len(answer.custom_ids()) == 10 and all(c.startswith("like:") for c in answer.custom_ids())

        card = await (await fake.slash("paper", {"title": "flash attention"}, guild=world.guild, channel=world.channel,
                                       user=world.member)).original_response()
        edits = len(card.edits)
        liked = await private_answer(await fake.click(card, _one(card, "like:"), user=world.member))
        assert "More like: FlashAttention" in str(liked.get("embeds"))
        assert len(card.edits) == edits  # the shared card stays as it is
        # ≈ 1 on the answer: more like the first neighbour, for the presser only.
        more = await private_answer(await fake.click(answer, answer.custom_ids()[0], user=world.member))
        assert "More like:" in str(more.get("embeds"))

        saved = await private_answer(await fake.click(card, _one(card, "save:"), user=world.member))
        assert "Saved" in str(saved.get("content")), saved
        mine = await fake.slash("recommend", {"days": 90, "weekly": "on"}, guild=world.guild,
                                channel=world.channel, user=world.member)
        got = await mine.original_response()
        assert got.ephemeral and all(a.ok for a in mine.attempts)
        assert "Weekly message on" in got.content and "For you: papers from the last 90 days" in str(got.embeds)
        assert "% alike" in str(got.embeds)
