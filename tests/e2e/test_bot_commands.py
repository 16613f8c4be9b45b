"""The production bot's slash commands, autocomplete and buttons through the real discord.py client."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import discord

from bot.commands import COMMANDS
from bot.config import Settings
from bot.transports.discord_bot.sync import state_key
from storage import app_state
from testkit.discord_fake import MANAGE_GUILD, FakeMessage, limits
from testkit.discord_fake.records import EPHEMERAL
from tests.e2e.bot_fixtures import settings_fixture, world_fixture  # noqa: F401 - fixtures
from tests.e2e.bot_harness import BotRun, World, bounded, load_sample, private_answer, running_bot

ADMIN_COMMANDS = {"setup", "ingest", "status"}


@bounded
async def test_login_registers_every_command_once(world: World, settings: Settings) -> None:
    fake = world.fake
    async with running_bot(world, settings) as run:
        registered = fake.registered_commands()
        assert sorted(c["name"] for c in registered) == sorted(c.name for c in COMMANDS)
        for command in registered:
            assert limits.validate_command(command) == [], command["name"]
            admin = command.get("default_member_permissions") == str(MANAGE_GUILD)
            assert admin == (command["name"] in ADMIN_COMMANDS), command["name"]
        assert fake.gateway.current is not None
        identified = discord.Intents._from_value(fake.gateway.current.intents)  # as sent in IDENTIFY
        assert identified == discord.Intents(guilds=True) == run.client.intents
        assert not (identified.members or identified.message_content or identified.presences)
    puts = fake.requests_to("PUT", "/applications/*/commands")
    assert len(puts) == 1
    # A restart with unchanged definitions registers nothing; a changed stored hash re-registers.
    async with running_bot(world, settings) as run:
        assert len(fake.requests_to("PUT", "/applications/*/commands")) == 1
        key = f"discord.commands.{fake.application_id}.global"
        assert await app_state.get_value(run.app.db, key) is not None
        await app_state.set_value(run.app.db, key, "stale")
    async with running_bot(world, settings):
        assert len(fake.requests_to("PUT", "/applications/*/commands")) == 2


@bounded
async def test_dev_guild_registration(world: World, settings: Settings) -> None:
    settings.discord.dev_guild_id = world.guild.id
    async with running_bot(world, settings):
        assert world.fake.registered_commands() == []
        assert len(world.fake.registered_commands(world.guild)) == len(COMMANDS)
        handle = await world.fake.slash("help", guild=world.guild, channel=world.channel, user=world.member)
        assert (await handle.original_response()).embeds or (await handle.original_response()).content


@bounded
async def test_switching_to_a_dev_guild_and_back_removes_the_other_registration(world: World,
                                                                                  settings: Settings) -> None:
    fake = world.fake
    async with running_bot(world, settings):
        assert len(fake.registered_commands()) == len(COMMANDS)
    settings.discord.dev_guild_id = world.guild.id
    async with running_bot(world, settings):
        # Left global, every command would show twice in the development server.
        assert fake.registered_commands() == []
        assert len(fake.registered_commands(world.guild)) == len(COMMANDS)
        handle = await fake.slash("help", guild=world.guild, channel=world.channel, user=world.member)
        assert (await handle.response()).ok
    puts = len(fake.requests_to("PUT", "/applications/*/commands"))
    async with running_bot(world, settings):  # a restart as configured sends nothing
        assert len(fake.requests_to("PUT", "/applications/*/commands")) == puts
    settings.discord.dev_guild_id = 0
    async with running_bot(world, settings) as run:
        assert len(fake.registered_commands()) == len(COMMANDS)
        assert fake.registered_commands(world.guild) == []
        # A server the bot can no longer reach is forgotten rather than retried at every start.
        gone = state_key(fake.application_id, world.guild.id + 1)
        await app_state.set_value(run.app.db, gone, "hash")
    async with running_bot(world, settings) as run:
        assert await app_state.get_value(run.app.db, gone) is None
        assert len(fake.registered_commands()) == len(COMMANDS)


@bounded
async def test_process_settings_are_put_back_when_the_client_closes(world: World, settings: Settings) -> None:
    before = sys.getswitchinterval()
    async with running_bot(world, settings) as run:
        assert sys.getswitchinterval() == run.client.timing.switch_interval != before
        assert gc.get_freeze_count() > 0
    assert sys.getswitchinterval() == before and gc.get_freeze_count() == 0


@bounded
async def test_search_answers_with_safe_embeds(world: World, settings: Settings) -> None:
    async with running_bot(world, settings) as run:
        await load_sample(run)
        handle = await world.fake.slash("search", {"query": "diffusion"}, guild=world.guild, channel=world.channel,
                                        user=world.member)
        message = await handle.original_response()
        assert not message.ephemeral
        assert message.embeds and "diffusion" in str(message.embeds).casefold()
        assert message.allowed_mentions == {"parse": []}
        assert all(a.ok for a in handle.attempts)


@bounded
async def test_paper_autocomplete_then_lookup(world: World, settings: Settings) -> None:
    async with running_bot(world, settings) as run:
        await load_sample(run)
        typed = await world.fake.autocomplete("paper", {"title": "diffusion"}, focused="title", guild=world.guild,
                                              user=world.member)
        response = await typed.response()
        assert response.ok and response.callback_type == 8
        assert typed.choices and len(typed.choices) <= 25
        first = typed.choices[0]
        handle = await world.fake.slash("paper", {"title": first["value"]}, guild=world.guild,
                                        channel=world.channel, user=world.member)
        message = await handle.original_response()
        assert message.embeds
        title = message.embeds[0].get("title", "")
        assert title and title.casefold()[:20] in first["name"].casefold() or first["name"][:20] in title


async def digest_message(world: World, run: BotRun) -> FakeMessage:
    """The public /digest answer on the sample digest."""
    await load_sample(run)
    handle = await world.fake.slash("digest", guild=world.guild, channel=world.channel, user=world.member)
    return await handle.original_response()


@bounded
async def test_digest_pages_with_buttons_also_after_a_restart(world: World, settings: Settings) -> None:
    async with running_bot(world, settings) as run:
        message = await digest_message(world, run)
        first_button = message.custom_ids()[0]  # "Full list"; then ▲ n per highlight
        assert first_button.startswith("digest:")
        summary = message.embeds
        # A deferred /digest (slow under load) already filled the message with one edit.
        before = len(message.edits)
        click = await world.fake.click(message, first_button, user=world.member)
        assert (await click.response()).ok
        await world.fake.wait_until(lambda: len(message.edits) == before + 1, what="page 2")
        page_two = message.custom_ids()
        assert len(page_two) == 2 and message.embeds and message.embeds != summary
        assert message.edits[-1]["allowed_mentions"] == {"parse": []}
    # The custom ids carry their state: a new process answers clicks on the old message.
    async with running_bot(world, settings):
        later = await world.fake.click(message, page_two[-1], user=world.admin)
        assert (await later.response()).ok
        await world.fake.wait_until(lambda: len(message.edits) == before + 2, what="page 3")
        assert message.custom_ids() and message.custom_ids() != page_two


@bounded
async def test_stale_button_answers_privately_without_touching_the_message(world: World, settings: Settings) -> None:
    async with running_bot(world, settings) as run:
        message = await digest_message(world, run)
        before = len(message.edits)  # a deferred /digest was filled by an edit
        message.data["components"][0]["components"][0]["custom_id"] = "digest:999999:p2"  # a deleted digest
        click = await world.fake.click(message, "digest:999999:p2", user=world.member)
        assert (await private_answer(click)).get("content")
        assert len(message.edits) == before


@bounded
async def test_setup_needs_manage_server(world: World, settings: Settings) -> None:
    options = {"channel": (7, world.channel.id), "time": "09:00", "timezone": "Europe/Berlin"}
    async with running_bot(world, settings):
        refused = await world.fake.slash("setup channel", options, guild=world.guild, channel=world.channel,
                                         user=world.member)
        answer = await refused.original_response()
        assert answer.ephemeral and "Manage Server" in answer.content
        accepted = await world.fake.slash("setup channel", options, guild=world.guild, channel=world.channel,
                                          user=world.admin)
        answer = await accepted.original_response()
        assert answer.ephemeral and f"<#{world.channel.id}>" in answer.content and "09:00" in answer.content
        in_dm = await world.fake.slash("setup channel", options, user=world.admin)
        assert "server" in (await in_dm.original_response()).content


@bounded
async def test_ingest_an_attached_file(world: World, settings: Settings, fixtures: Path) -> None:
    data = (fixtures / "hf-daily-papers-page-sep-9.txt").read_bytes()
    attachment = world.fake.add_attachment("hf-sep-9.txt", data)
    async with running_bot(world, settings):
        handle = await world.fake.slash("ingest", {"file": (11, attachment["id"])}, guild=world.guild,
                                        channel=world.channel, user=world.admin)
        first = await handle.response()
        assert first.callback_type == 5 and handle.ephemeral  # deferred privately: it may be slow
        message = await handle.original_response()
        assert "Loaded hf-sep-9.txt" in message.content and "144 papers" in message.content
        refused = await world.fake.slash("ingest", {"file": (11, attachment["id"])}, guild=world.guild,
                                         channel=world.channel, user=world.member)
        assert "Manage Server" in (await refused.original_response()).content


@bounded
async def test_errors_are_private_and_short(world: World, settings: Settings) -> None:
    async with running_bot(world, settings):
        handle = await world.fake.slash("search", {"query": "\"unbalanced"}, guild=world.guild,
                                        channel=world.channel, user=world.member)
        message = await handle.original_response()
        assert message.flags & EPHEMERAL and len(message.content) < 600 and "Traceback" not in message.content
