"""Drive the real discord.py client (commands.Bot + app_commands) against the loopback fake."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from testkit.discord_fake import MANAGE_GUILD, DiscordFake, limits
from testkit.discord_fake.fixtures import (
    World,
    bounded,
    make_world,
    minimal_intents,
    running_client,
    skip_reidentify_delay,
)
from testkit.discord_fake.records import EPHEMERAL

# --- the bot under test (defined here, not the production bot) ------------------------------

PAPERS = ["attention is all you need", "diffusion models beat gans", "denoising diffusion", "adam optimizer"]


@dataclass
class Harness:
    bot: commands.Bot
    errors: list[Exception] = field(default_factory=list)
    clicked: asyncio.Event = field(default_factory=asyncio.Event)


class PagerView(discord.ui.View):
    def __init__(self, harness: Harness) -> None:
        super().__init__(timeout=30)
        self.harness = harness

    @discord.ui.button(label="Next page", custom_id="pager:next", style=discord.ButtonStyle.primary)
    async def next_page(self, interaction: discord.Interaction, button: discord.ui.Button[PagerView]) -> None:
        await interaction.response.edit_message(content="page 2", view=None)
        self.harness.clicked.set()


def make_bot(deadline_s: float = 0.3) -> Harness:
    bot = commands.Bot(
        command_prefix=commands.when_mentioned, intents=minimal_intents(), guild_ready_timeout=0.05, help_command=None
    )
    harness = Harness(bot)
    tree = bot.tree

    @tree.command(name="ping", description="Answer privately")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong", ephemeral=True)

    @tree.command(name="digest", description="Post the digest publicly")
    async def digest(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("today's digest", allowed_mentions=discord.AllowedMentions.none())

    @tree.command(name="slow", description="Defer, then follow up")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await asyncio.sleep(0.05)
        await interaction.followup.send("done after thinking")
        await interaction.followup.send("a second follow-up", ephemeral=True)

    @tree.command(name="search", description="Find a paper by title")
    @app_commands.describe(query="Part of the title")
    async def search(interaction: discord.Interaction, query: str) -> None:
        await interaction.response.send_message(f"searching {query}")

    @search.autocomplete("query")
    async def search_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        hits = [p for p in PAPERS if current.lower() in p]
        return [app_commands.Choice(name=p.title(), value=p) for p in hits][:25]

    @tree.command(name="topic", description="Autocomplete that offers too many choices")
    async def topic(interaction: discord.Interaction, name: str) -> None:  # pragma: no cover
        await interaction.response.send_message(name)

    @topic.autocomplete("name")
    async def topic_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=f"topic {i}", value=f"t{i}") for i in range(26)]

    @tree.command(name="report", description="Defer privately, then edit the original response")
    async def report(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.edit_original_response(content="report ready")

    @tree.command(name="eager", description="Follow up before responding (refused), then respond")
    async def eager(interaction: discord.Interaction) -> None:
        try:
            await interaction.followup.send("too early")
        except discord.HTTPException as exc:
            harness.errors.append(exc)
        await interaction.response.send_message("now properly")

    papers = app_commands.Group(name="papers", description="Follow topics")

    @papers.command(name="follow", description="Follow a topic")
    async def follow(interaction: discord.Interaction, topic: str, daily: bool = True) -> None:
        await interaction.response.send_message(f"following {topic} daily={daily}", ephemeral=True)

    tree.add_command(papers)

    @tree.command(name="huge", description="Send an oversized embed")
    async def huge(interaction: discord.Interaction) -> None:
        embed = discord.Embed(title="t" * 300, description="d" * 4000)
        try:
            await interaction.response.send_message(embed=embed)
        except discord.HTTPException as exc:
            harness.errors.append(exc)
            await interaction.response.send_message("that was too big", ephemeral=True)

    @tree.command(name="pager", description="Show a button")
    async def pager(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("page 1", view=PagerView(harness))

    @tree.command(name="twice", description="Respond twice (the second must be refused)")
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("first")
        interaction.response._response_type = None  # defeat discord.py's local guard to hit the server
        try:
            await interaction.response.send_message("second")
        except discord.HTTPException as exc:
            harness.errors.append(exc)

    @tree.command(name="late", description="Answer after the deadline")
    async def late(interaction: discord.Interaction) -> None:
        await asyncio.sleep(deadline_s + 0.15)
        try:
            await interaction.response.send_message("too late")
        except discord.HTTPException as exc:
            harness.errors.append(exc)

    @tree.command(name="settings", description="Admin only")
    @app_commands.default_permissions(manage_guild=True)
    async def settings(interaction: discord.Interaction) -> None:
        allowed = interaction.permissions.manage_guild
        await interaction.response.send_message("settings saved" if allowed else "not allowed", ephemeral=True)

    return harness


@pytest.fixture
def world(discord_fake: DiscordFake) -> World:
    return make_world(discord_fake)


@pytest.fixture
async def harness(world: World) -> AsyncIterator[Harness]:
    h = make_bot(deadline_s=3.0 * world.fake.deadline_scale)
    async with running_client(world.fake, h.bot):
        yield h


# --- tests ----------------------------------------------------------------------------------


@bounded
async def test_login_ready_and_guild_visible(world: World, harness: Harness) -> None:
    fake, bot = world.fake, harness.bot
    assert bot.user is not None and bot.user.id == fake.bot_user.id
    assert bot.application_id == fake.application_id
    g = bot.get_guild(world.guild.id)
    assert g is not None and g.name == "Paper Club"
    assert g.get_channel(world.channel.id) is not None
    assert g.member_count == len(world.guild.members)
    assert fake.gateway.identifies == 1
    assert [q.get("encoding") for q in fake.gateway.connect_queries] == ["json"]
    paths = [r.path for r in fake.requests]
    assert paths[:2] == ["/users/@me", "/oauth2/applications/@me"]
    assert not fake.unknown_requests
    assert all("authorization" not in {k.lower() for k in r.headers} for r in fake.requests)
    assert all(r.had_authorization for r in fake.requests)


@bounded
async def test_wrong_token_is_login_failure(discord_fake: DiscordFake) -> None:
    bot = make_bot().bot
    with pytest.raises(discord.LoginFailure):
        async with running_client(discord_fake, bot, token="not-the-token"):
            pass  # pragma: no cover
    assert discord_fake.requests[0].status == 401
    assert discord_fake.gateway.connects == 0


@bounded
async def test_sync_registers_validated_commands(world: World, harness: Harness) -> None:
    fake, tree = world.fake, harness.bot.tree
    synced = await tree.sync()
    names = sorted(c.name for c in synced)
    assert names == sorted(c["name"] for c in fake.registered_commands())
    assert "search" in names
    search = next(c for c in fake.registered_commands() if c["name"] == "search")
    assert search["options"][0]["name"] == "query" and search["options"][0]["autocomplete"] is True
    settings = next(c for c in fake.registered_commands() if c["name"] == "settings")
    assert settings["default_member_permissions"] == str(MANAGE_GUILD)
    # Re-syncing keeps ids stable; guild sync is separate.
    again = await tree.sync()
    assert {c.id for c in again} == {c.id for c in synced}
    assert await tree.sync(guild=discord.Object(world.guild.id)) == []


@bounded
async def test_sync_rejects_overlong_description(world: World, harness: Harness) -> None:
    tree = harness.bot.tree

    @tree.command(name="verbose", description="x" * 101)
    async def verbose(interaction: discord.Interaction) -> None:  # pragma: no cover
        pass

    with pytest.raises(app_commands.CommandSyncFailure) as info:
        await tree.sync()
    assert info.value.status == 400 and info.value.code == 50035
    assert "description" in str(info.value)
    assert world.fake.registered_commands() == []


@bounded
async def test_slash_command_ephemeral_reply(world: World, harness: Harness) -> None:
    handle = await world.fake.slash("ping", guild=world.guild, channel=world.channel, user=world.member)
    response = await handle.response()
    assert response.ok and response.callback_type == 4
    assert response.data["content"] == "pong"
    assert handle.ephemeral and handle.original is not None and handle.original.ephemeral
    assert world.fake.messages_in(world.channel) == []  # interaction replies are kept apart


@bounded
async def test_slash_command_public_reply_with_allowed_mentions(world: World, harness: Harness) -> None:
    handle = await world.fake.slash("digest", guild=world.guild, channel=world.channel, user=world.member)
    response = await handle.response()
    assert response.ok and not handle.ephemeral
    assert response.data["allowed_mentions"] == {"parse": []}
    assert handle.original is not None and handle.original.content == "today's digest"
    assert world.fake.messages_in(world.channel, include_interactions=True) == [handle.original]


@bounded
async def test_admin_check_uses_member_permissions(world: World, harness: Harness) -> None:
    admin = await world.fake.slash("settings", guild=world.guild, channel=world.channel, user=world.admin)
    plain = await world.fake.slash("settings", guild=world.guild, channel=world.channel, user=world.member)
    assert (await admin.response()).data["content"] == "settings saved"
    assert (await plain.response()).data["content"] == "not allowed"


@bounded
async def test_defer_then_followups(world: World, harness: Harness) -> None:
    handle = await world.fake.slash("slow", guild=world.guild, channel=world.channel, user=world.member)
    first = await handle.response()
    assert first.ok and first.callback_type == 5
    original = await handle.original_response()  # the "thinking…" placeholder is replaced
    assert original.content == "done after thinking" and not original.loading
    second = await handle.followup(1)
    assert second.content == "a second follow-up" and second.ephemeral
    assert [a.kind for a in handle.attempts] == ["callback", "followup", "followup"]
    assert all(a.ok for a in handle.attempts)


@bounded
async def test_autocomplete_answered_with_choices(world: World, harness: Harness) -> None:
    await harness.bot.tree.sync()  # so the fake knows the option types (not required)
    handle = await world.fake.autocomplete(
        "search", {"query": "diffusion"}, focused="query", guild=world.guild, user=world.member
    )
    response = await handle.response()
    assert response.ok and response.callback_type == 8
    assert handle.choices == [
        {"name": "Diffusion Models Beat Gans", "value": "diffusion models beat gans"},
        {"name": "Denoising Diffusion", "value": "denoising diffusion"},
    ]


@bounded
async def test_autocomplete_over_25_choices_rejected(world: World, harness: Harness) -> None:
    handle = await world.fake.autocomplete("topic", {}, focused="name", guild=world.guild, user=world.member)
    response = await handle.response()
    assert response.status == 400 and response.error_code == 50035
    assert "choices" in response.response["errors"]["data"]
    assert handle.choices is None and not handle.acknowledged


@bounded
async def test_defer_then_edit_original(world: World, harness: Harness) -> None:
    handle = await world.fake.slash("report", guild=world.guild, channel=world.channel, user=world.member)
    assert (await handle.response()).callback_type == 5
    original = await handle.original_response()
    assert original.content == "report ready" and original.ephemeral
    assert [a.kind for a in handle.attempts] == ["callback", "edit_original"]


@bounded
async def test_followup_before_response_is_unknown_webhook(world: World, harness: Harness) -> None:
    handle = await world.fake.slash("eager", guild=world.guild, channel=world.channel, user=world.member)
    await handle.wait("callback")
    early = handle.attempts[0]
    assert early.kind == "followup" and early.status == 404 and early.error_code == 10015
    [exc] = harness.errors
    assert isinstance(exc, discord.NotFound) and exc.code == 10015
    assert handle.callback is not None and handle.callback.data["content"] == "now properly"


@bounded
async def test_subcommand_dispatch(world: World, harness: Harness) -> None:
    handle = await world.fake.slash("papers follow", {"topic": "llm", "daily": False}, guild=world.guild)
    response = await handle.response()
    assert response.data["content"] == "following llm daily=False"
    assert handle.payload["data"]["options"][0]["type"] == 1


@bounded
async def test_guild_sync_and_guild_command_dispatch(world: World, harness: Harness) -> None:
    tree, guild = harness.bot.tree, discord.Object(world.guild.id)
    tree.copy_global_to(guild=guild)
    synced = await tree.sync(guild=guild)
    stored = world.fake.registered_commands(world.guild)
    assert {c.name for c in synced} == {c["name"] for c in stored}
    assert all(c["guild_id"] == str(world.guild.id) for c in stored)
    handle = await world.fake.slash("ping", guild=world.guild, user=world.member)
    assert handle.payload["data"]["guild_id"] == str(world.guild.id)
    assert (await handle.response()).data["content"] == "pong"


@bounded
async def test_slash_command_with_option(world: World, harness: Harness) -> None:
    handle = await world.fake.slash("search", {"query": "adam"}, guild=world.guild, user=world.member)
    assert (await handle.response()).data["content"] == "searching adam"


@bounded
async def test_oversized_embed_surfaces_400_50035(world: World, harness: Harness) -> None:
    handle = await world.fake.slash("huge", guild=world.guild, channel=world.channel, user=world.member)
    await handle.wait("callback", 2)
    rejected, accepted = handle.callbacks
    assert rejected.status == 400 and rejected.error_code == 50035
    assert "embeds" in rejected.response["errors"]["data"]
    assert accepted.ok and accepted.data["content"] == "that was too big"
    [exc] = harness.errors
    assert isinstance(exc, discord.HTTPException) and exc.status == 400 and exc.code == 50035
    assert "data.embeds.0.title" in str(exc)


@bounded
async def test_oversized_channel_message_rejected(world: World, harness: Harness) -> None:
    channel = harness.bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    embed = discord.Embed(title="x")
    for i in range(26):
        embed.add_field(name=f"f{i}", value="v")
    with pytest.raises(discord.HTTPException) as info:
        await channel.send("x" * 2001, embed=embed)
    assert info.value.code == 50035
    assert "content" in str(info.value) and "embeds.0.fields" in str(info.value)
    assert world.fake.messages_in(world.channel) == []


@bounded
async def test_button_click_answered_with_update(world: World, harness: Harness) -> None:
    fake = world.fake
    handle = await fake.slash("pager", guild=world.guild, channel=world.channel, user=world.member)
    await handle.response()
    message = handle.original
    assert message is not None and message.custom_ids() == ["pager:next"]
    click = await fake.click(message, "pager:next", user=world.member)
    response = await click.response()
    assert response.ok and response.callback_type == 7
    await asyncio.wait_for(harness.clicked.wait(), 5)
    assert message.content == "page 2" and message.components == []
    assert message.edits and message.edits[-1]["content"] == "page 2"


@bounded
async def test_channel_message_records_allowed_mentions(world: World, harness: Harness) -> None:
    channel = harness.bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send(
        f"<@{world.member.id}> new papers @everyone", allowed_mentions=discord.AllowedMentions.none()
    )
    [msg] = await world.fake.wait_for_messages(world.channel)
    assert sent.id == msg.id
    assert msg.allowed_mentions == {"parse": []}
    assert msg.mentions == [] and not msg.mention_everyone
    pinging = await channel.send(f"<@{world.member.id}> hi", allowed_mentions=discord.AllowedMentions(users=True))
    assert world.fake.messages[pinging.id].mentions == [world.member.id]


@bounded
async def test_thread_from_message(world: World, harness: Harness) -> None:
    channel = harness.bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    msg = await channel.send("digest for Sep 9")
    thread = await msg.create_thread(name="Discussion: Sep 9")
    assert thread.id == msg.id and thread.parent_id == world.channel.id
    await thread.send("first paper")
    assert [m.content for m in world.fake.messages_in(thread.id)] == ["first paper"]


@bounded
async def test_dm_to_user_with_closed_dms_is_forbidden(world: World, harness: Harness) -> None:
    fake = world.fake
    fake.set_dms_open(world.member, False)
    user = await harness.bot.fetch_user(world.member.id)
    with pytest.raises(discord.Forbidden) as info:
        await user.send("your topic matched 3 papers")
    assert info.value.code == 50007
    assert fake.dms_to(world.member) == []
    admin = await harness.bot.fetch_user(world.admin.id)
    await admin.send("your topic matched 1 paper")
    assert [m.content for m in fake.dms_to(world.admin)] == ["your topic matched 1 paper"]


@pytest.mark.parametrize("is_global", [False, True], ids=["route", "global"])
@bounded
async def test_rate_limit_burst_is_retried_and_lands_once(world: World, harness: Harness, is_global: bool) -> None:
    fake = world.fake
    fault = fake.inject_rate_limit(
        "/channels/*/messages", count=2, method="POST", retry_after=0.05, is_global=is_global
    )
    channel = harness.bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    await channel.send("digest")
    posts = fake.requests_to("POST", f"/channels/{world.channel.id}/messages")
    assert [r.status for r in posts] == [429, 429, 200]
    assert fault.hits == 2
    assert [m.content for m in fake.messages_in(world.channel)] == ["digest"]


@bounded
async def test_rate_limit_without_via_is_not_retried(world: World, harness: Harness) -> None:
    world.fake.inject_rate_limit("/channels/*/messages", method="POST", cloudflare=True)
    channel = harness.bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as info:
        await channel.send("blocked")
    assert info.value.status == 429  # discord.py treats a 429 without 'Via' as a Cloudflare ban
    assert len(world.fake.requests_to("POST", "/channels/*/messages")) == 1


@bounded
async def test_server_error_is_retried(world: World, harness: Harness) -> None:
    fake = world.fake
    fake.inject_error("/channels/*/messages", status=502, count=1, method="POST")
    channel = harness.bot.get_channel(world.channel.id)
    assert isinstance(channel, discord.TextChannel)
    await channel.send("after a 502")  # discord.py sleeps 1 s before retrying a 5xx
    assert [r.status for r in fake.requests_to("POST", "/channels/*/messages")] == [502, 200]
    assert len(fake.messages_in(world.channel)) == 1


@bounded
async def test_second_response_is_rejected(world: World, harness: Harness) -> None:
    handle = await world.fake.slash("twice", guild=world.guild, channel=world.channel, user=world.member)
    first, second = await handle.wait("callback", 2)
    assert first.ok and second.status == 400 and second.error_code == 40060
    await world.fake.wait_until(lambda: harness.errors, what="the bot to see the error")
    [exc] = harness.errors
    assert isinstance(exc, discord.HTTPException) and exc.code == 40060


@bounded
async def test_response_after_deadline_is_rejected(world: World, harness: Harness) -> None:
    handle = await world.fake.slash("late", guild=world.guild, channel=world.channel, user=world.member)
    response = await handle.response()
    assert response.status == 404 and response.error_code == 10062
    assert response.at > 3.0 * world.fake.deadline_scale
    assert not handle.acknowledged
    await world.fake.wait_until(lambda: harness.errors, what="the bot to see the error")
    [exc] = harness.errors
    assert isinstance(exc, discord.NotFound) and exc.code == 10062


@bounded
async def test_gateway_drop_then_resume(world: World, harness: Harness) -> None:
    fake, bot = world.fake, harness.bot
    resumed = asyncio.Event()

    async def on_resumed() -> None:
        resumed.set()

    bot.add_listener(on_resumed)
    session = fake.gateway.current
    assert session is not None
    await fake.drop_gateway()
    # An interaction dispatched while the client is away is replayed on RESUME.
    handle = await fake.slash("ping", guild=world.guild, channel=world.channel, user=world.member)
    await asyncio.wait_for(resumed.wait(), 5)
    assert fake.gateway.resumes == 1 and fake.gateway.identifies == 1
    assert fake.gateway.current is session
    assert (await handle.response()).data["content"] == "pong"
    assert fake.gateway.connects == 2


@pytest.mark.parametrize(("op", "data", "resumes", "identifies"), [(7, None, 1, 1), (9, False, 0, 2)])
@bounded
async def test_gateway_reconnect_and_invalid_session(
    world: World, harness: Harness, op: int, data: Any, resumes: int, identifies: int
) -> None:
    fake = world.fake
    skip_reidentify_delay(harness.bot)
    await fake.gateway.send_op(op, data)
    await fake.wait_until(lambda: fake.gateway.connects == 2 and fake.gateway.connected, what="a reconnect")
    await fake.wait_until(lambda: fake.gateway.resumes + fake.gateway.identifies == resumes + identifies)
    assert (fake.gateway.resumes, fake.gateway.identifies) == (resumes, identifies)
    await harness.bot.wait_until_ready()
    handle = await fake.slash("ping", guild=world.guild, user=world.member)
    assert (await handle.response()).ok


@bounded
async def test_unknown_route_is_404_and_recorded(world: World, harness: Harness) -> None:
    with pytest.raises(discord.NotFound):
        await harness.bot.http.request(discord.http.Route("GET", "/nope/{x}", x=1))
    assert [r.path for r in world.fake.unknown_requests] == ["/nope/1"]


@bounded
async def test_zlib_stream_gateway(discord_fake: DiscordFake) -> None:
    async with DiscordFake(gateway_compression=True) as fake:
        guild = fake.add_guild("Compressed")
        fake.add_text_channel(guild)
        bot = make_bot().bot
        async with running_client(fake, bot):
            assert bot.get_guild(guild.id) is not None
            assert fake.gateway.connect_queries[0]["compress"] == "zlib-stream"
            handle = await fake.slash("ping", guild=guild)
            assert (await handle.response()).ok


@bounded
async def test_dm_slash_command(world: World, harness: Harness) -> None:
    handle = await world.fake.slash("ping", user=world.member)  # no guild: a DM interaction
    response = await handle.response()
    assert response.ok and int(response.data["flags"]) & EPHEMERAL


@bounded
async def test_fake_json_content_type_is_exact(discord_fake: DiscordFake) -> None:
    with warnings.catch_warnings():
        async with aiohttp.ClientSession() as session, session.get(discord_fake.api_base + "/gateway") as resp:
            assert resp.headers["Content-Type"] == "application/json"
            assert (await resp.json())["url"].startswith("ws://127.0.0.1:")


# --- the validators on their own ------------------------------------------------------------


def _codes(errors: list[limits.FieldError]) -> set[str]:
    return {e.dotted for e in errors}


def _cmd(**overrides: Any) -> dict[str, Any]:
    return {"name": "search", "description": "Find a paper", "type": 1, **overrides}


def _opt(name: str, **overrides: Any) -> dict[str, Any]:
    return {"name": name, "description": "an option", "type": 3, **overrides}


@pytest.mark.parametrize(
    ("command", "bad"),
    [
        (_cmd(), set()),
        (_cmd(name="Search"), {"name"}),
        (_cmd(name="two words"), {"name"}),
        (_cmd(name="x" * 33), {"name"}),
        (_cmd(name="résumé-2"), set()),
        (_cmd(description=""), {"description"}),
        (_cmd(description="d" * 101), {"description"}),
        (_cmd(options=[_opt(f"o{i}") for i in range(26)]), {"options"}),
        (
            _cmd(options=[_opt("q", choices=[{"name": f"c{i}", "value": f"v{i}"} for i in range(26)])]),
            {"options.0.choices"},
        ),
        (_cmd(options=[_opt("q", choices=[{"name": "c", "value": "v" * 101}])]), {"options.0.choices.0.value"}),
        (_cmd(options=[_opt("a"), _opt("b", required=True)]), {"options.1.required"}),
        (_cmd(options=[_opt("a"), _opt("a")]), {"options.1.name"}),
        (_cmd(options=[_opt("BAD")]), {"options.0.name"}),
        (
            _cmd(
                options=[
                    _opt(
                        f"o{i}",
                        description="d" * 100,
                        choices=[{"name": "n" * 100, "value": "v" * 100} for _ in range(2)],
                    )
                    for i in range(25)
                ]
            ),
            {""},  # over 8000 characters in total: the error sits on the command itself
        ),
        ({"name": "Show Abstract", "type": 3, "description": ""}, set()),
    ],
)
def test_command_limits(command: dict[str, Any], bad: set[str]) -> None:
    assert _codes(limits.validate_command(command)) == bad


def _embed(**overrides: Any) -> dict[str, Any]:
    return {"title": "t", "description": "d", **overrides}


@pytest.mark.parametrize(
    ("payload", "bad"),
    [
        ({"content": "x" * 2000}, set()),
        ({"content": "x" * 2001}, {"content"}),
        ({"embeds": [_embed()] * 11}, {"embeds"}),
        ({"embeds": [_embed(title="t" * 257)]}, {"embeds.0.title"}),
        ({"embeds": [_embed(description="d" * 4097)]}, {"embeds.0.description"}),
        ({"embeds": [_embed(fields=[{"name": "n", "value": "v"}] * 26)]}, {"embeds.0.fields"}),
        ({"embeds": [_embed(fields=[{"name": "n" * 257, "value": "v"}])]}, {"embeds.0.fields.0.name"}),
        ({"embeds": [_embed(fields=[{"name": "n", "value": "v" * 1025}])]}, {"embeds.0.fields.0.value"}),
        ({"embeds": [_embed(footer={"text": "f" * 2049})]}, {"embeds.0.footer.text"}),
        ({"embeds": [_embed(author={"name": "a" * 257})]}, {"embeds.0.author.name"}),
        ({"embeds": [_embed(description="d" * 3000), _embed(description="d" * 2999)]}, {"embeds"}),  # 6001 in all
        ({"embeds": [_embed(title="", description="d" * 3000), _embed(title="", description="d" * 3000)]}, set()),
    ],
)
def test_message_limits(payload: dict[str, Any], bad: set[str]) -> None:
    assert _codes(limits.validate_message(payload)) == bad


def _button(custom_id: str, **overrides: Any) -> dict[str, Any]:
    return {"type": 2, "style": 1, "label": "go", "custom_id": custom_id, **overrides}


def _row(*components: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(components)}


@pytest.mark.parametrize(
    ("components", "bad"),
    [
        ([_row(*[_button(f"b{r}{i}") for i in range(5)]) for r in range(5)], set()),
        ([_row(_button(f"b{r}")) for r in range(6)], {"components"}),
        ([_row(*[_button(f"b{i}") for i in range(6)])], {"components.0.components"}),
        ([_row(_button("x" * 101))], {"components.0.components.0.custom_id"}),
        ([_row(_button(""))], {"components.0.components.0.custom_id"}),
        ([_row(_button("a", label="l" * 81))], {"components.0.components.0.label"}),
        ([_row(_button("a"), _button("a"))], {"components"}),
        ([_row({"type": 2, "style": 5, "label": "arXiv", "url": "https://arxiv.org"})], set()),
        ([_button("a")], {"components.0.type"}),
    ],
)
def test_component_limits(components: list[dict[str, Any]], bad: set[str]) -> None:
    assert _codes(limits.validate_message({"components": components})) == bad


@pytest.mark.parametrize(
    ("choices", "bad"),
    [
        ([{"name": "n", "value": "v"}] * 25, set()),
        ([{"name": "n", "value": "v"}] * 26, {"data.choices"}),
        ([{"name": "", "value": "v"}], {"data.choices.0.name"}),
        ([{"name": "n" * 101, "value": "v"}], {"data.choices.0.name"}),
        ([{"name": "n", "value": "v" * 101}], {"data.choices.0.value"}),
        ([{"name": "n", "value": 3}], set()),
    ],
)
def test_autocomplete_limits(choices: list[dict[str, Any]], bad: set[str]) -> None:
    assert _codes(limits.validate_autocomplete({"choices": choices})) == bad


@bounded
async def test_raw_http_shapes(discord_fake: DiscordFake) -> None:
    """Error bodies, auth, unknown routes and the token never being recorded, without discord.py."""
    fake = discord_fake
    guild = fake.add_guild()
    channel = fake.add_text_channel(guild)
    auth = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession() as session:
        async with session.get(fake.api_base + "/users/@me", headers={"Authorization": "Bot nope"}) as resp:
            assert resp.status == 401
        url = f"{fake.api_base}/channels/{channel.id}/messages"
        async with session.post(url, json={"embeds": [{"title": "t" * 300}]}, headers=auth) as resp:
            body = await resp.json()
            assert resp.status == 400 and resp.headers["Content-Type"] == "application/json"
            assert body["code"] == 50035
            assert body["errors"]["embeds"]["0"]["title"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
        async with session.post(url, json={}, headers=auth) as resp:
            assert resp.status == 400 and (await resp.json())["code"] == 50006
        async with session.delete(fake.api_base + "/guilds/1/bans/2", headers=auth) as resp:
            assert resp.status == 404
    assert fake.unknown_requests[-1].path == "/guilds/1/bans/2"
    assert all(fake.token not in repr(r) for r in fake.requests)


async def test_network_beyond_loopback_is_refused() -> None:
    with pytest.raises(OSError, match="loopback"):
        await asyncio.wait_for(asyncio.open_connection("192.0.2.1", 443), timeout=2)
