"""The loopback Discord: state, recording, fault injection and interaction dispatch.

Usage::

    async with DiscordFake() as fake:
        guild = fake.add_guild("Lab")
        channel = fake.add_text_channel(guild, "papers")
        admin = fake.add_member(guild, "alice", permissions=MANAGE_GUILD)
        with point_discord_py_at(fake):
            ...  # start a discord.py client with fake.token
            handle = await fake.slash("search", {"query": "diffusion"}, guild=guild, channel=channel, user=admin)
            resp = await handle.response()
"""

# Waits take an explicit `timeout`: test helpers must never hang the suite.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from aiohttp import web

from .gateway import Gateway
from .models import (
    ALL_PERMISSIONS,
    GUILD_TEXT,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeUser,
    snowflake,
)
from .records import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    FakeMessage,
    InteractionHandle,
)
from .state import DiscordState, Endpoint, id_of

_OPTION_TYPES: dict[type, int] = {str: 3, int: 4, bool: 5, float: 10}


class DiscordFake(DiscordState):
    """An aiohttp app on 127.0.0.1 (random port) that plays Discord for the real discord.py client.

    ``deadline_scale`` multiplies the 3-second first-response deadline and the 15-minute token
    lifetime (e.g. 0.1 → 0.3 s), so "too slow" is testable quickly.
    """

    def __init__(self, *, heartbeat_interval_ms: int = 41250, gateway_compression: bool = False, **state: Any) -> None:
        """``state``: ``DiscordState``'s ``token``, ``bot_name``, ``deadline_scale`` and ``recommended_shards``."""
        super().__init__(**state)
        self.gateway = Gateway(self, heartbeat_interval_ms=heartbeat_interval_ms, compression=gateway_compression)
        self._runner: web.AppRunner | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> DiscordFake:
        from .rest import build_app

        app = build_app(self, self.gateway.handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1])
        return self

    async def endpoint(self, name: str) -> Endpoint:
        """Another port serving the same fake, named `name`: point one client (one bot process)
        at its `api_base` and `gateway_url`, and every request it makes is recorded with
        ``client == name``, so a test can tell which process sent what."""
        assert self._runner is not None, "start the fake first"
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert server is not None
        port = int((getattr(server, "sockets", None) or [])[0].getsockname()[1])
        self.endpoints[port] = found = Endpoint(name, self.host, port)
        return found

    async def stop(self) -> None:
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DiscordFake:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- gateway events and interactions --------------------------------------------------

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH event to the identified client (queued for RESUME if it is offline)."""
        await self.gateway.dispatch(event, data)

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close the client's websocket (the session stays resumable)."""
        await self.gateway.drop(code)

    def _new_interaction_base(
        self,
        itype: int,
        *,
        guild: FakeGuild | None,
        channel: FakeChannel | None,
        user: FakeUser | None,
        locale: str,
    ) -> dict[str, Any]:
        iid = snowflake()
        token = "itok." + secrets.token_urlsafe(32)
        user = user or self.owner
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": itype,
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": 10 * 1024 * 1024,
            "app_permissions": str(guild.permissions_of(self.bot_user.id) if guild else 0),
        }
        if guild is not None:
            if channel is None:
                channel = next(c for c in guild.channels.values() if c.type == GUILD_TEXT)
            member = guild.members.get(user.id)
            if member is None:
                member = FakeMember(user, guild.id)
                guild.members[user.id] = member
            payload.update(
                guild_id=str(guild.id),
                guild=guild.partial_payload(),
                guild_locale="en-US",
                channel_id=str(channel.id),
                channel={**channel.payload(), "permissions": str(guild.permissions_of(user.id))},
                member={**member.payload(), "permissions": str(guild.permissions_of(user.id))},
                authorizing_integration_owners={"0": str(guild.id)},
                context=0,
            )
        else:
            channel = channel or self.dm_channel_for(user)
            payload.update(
                channel_id=str(channel.id),
                channel=channel.payload(self.users),
                user=user.payload(),
                authorizing_integration_owners={"0": "0"},
                context=1,
            )
        return payload

    def _register_handle(self, payload: dict[str, Any], message: FakeMessage | None = None) -> InteractionHandle:
        handle = InteractionHandle(
            id=int(payload["id"]),
            token=payload["token"],
            type=int(payload["type"]),
            payload=payload,
            created_at=asyncio.get_running_loop().time(),
            notifier=self.notifier,
            message=message,
        )
        self.interactions[handle.id] = handle
        return handle

    def _command_data(
        self, name: str, options: Mapping[str, Any] | None, guild: FakeGuild | None, focused: str | None
    ) -> dict[str, Any]:
        """``data`` of a chat-input interaction; option types come from the registered command if any."""
        parts = name.split()
        registered = None
        scope: int | None = None
        for key in ([guild.id] if guild else []) + [None]:
            registered = next(
                (c for c in self.commands.get(key, []) if c["name"] == parts[0] and c.get("type", 1) == 1), None
            )
            if registered is not None:
                scope = key
                break
        schema: list[dict[str, Any]] = list(registered.get("options") or []) if registered else []
        leaf_opts: list[dict[str, Any]] = []
        for value in options.items() if options else []:
            opt_name, opt_value = value
            declared = next((o for o in schema if o.get("name") == opt_name), None)
            if isinstance(opt_value, tuple):  # (type, value) forces a type, e.g. (6, user_id)
                otype, opt_value = opt_value
            elif declared is not None:
                otype = int(declared["type"])
            else:
                otype = _OPTION_TYPES.get(type(opt_value), 3)
            if otype in (6, 7, 8, 9, 11):
                opt_value = str(id_of(opt_value))
            entry: dict[str, Any] = {"name": opt_name, "type": otype, "value": opt_value}
            if focused == opt_name:
                entry["focused"] = True
            leaf_opts.append(entry)
        nested = leaf_opts
        # Wrap for subcommands: "digest subscribe" -> [{type 1, name subscribe, options}]
        sub_types = {2: [1], 3: [2, 1]}.get(len(parts), [])
        for depth, part in reversed(list(enumerate(parts[1:], start=1))):
            nested = [{"name": part, "type": sub_types[depth - 1], "options": nested}]
        data: dict[str, Any] = {
            "id": registered["id"] if registered else str(snowflake()),
            "name": parts[0],
            "type": 1,
            "options": nested,
        }
        if scope is not None:
            data["guild_id"] = str(scope)
        resolved = self._resolved(leaf_opts, guild)
        if resolved:
            data["resolved"] = resolved
        return data

    def _resolved(self, options: list[dict[str, Any]], guild: FakeGuild | None) -> dict[str, Any]:
        users: dict[str, Any] = {}
        members: dict[str, Any] = {}
        channels: dict[str, Any] = {}
        attachments: dict[str, Any] = {}
        for opt in options:
            if opt["type"] in (6, 9) and int(opt["value"]) in self.users:
                uid = int(opt["value"])
                users[str(uid)] = self.users[uid].payload()
                if guild is not None and uid in guild.members:
                    m = guild.members[uid].payload()
                    m.pop("user")
                    members[str(uid)] = {**m, "permissions": str(guild.permissions_of(uid))}
            if opt["type"] == 11 and int(opt["value"]) in self.attachments:
                attachments[str(opt["value"])] = self.attachments[int(opt["value"])][0]
            if opt["type"] == 7 and int(opt["value"]) in self.channels:
                ch = self.channels[int(opt["value"])]
                channels[str(ch.id)] = {**ch.payload(self.users), "permissions": str(ALL_PERMISSIONS)}
        out: dict[str, Any] = {}
        if users:
            out["users"] = users
        if members:
            out["members"] = members
        if channels:
            out["channels"] = channels
        if attachments:
            out["attachments"] = attachments
        return out

    async def slash(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        guild: FakeGuild | None = None,
        channel: FakeChannel | None = None,
        user: FakeUser | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Dispatch a chat-input command (``name`` may be "group sub"); DM when ``guild`` is None.

        Option types come from the registered command when it was synced, else from the Python
        type (str 3, int 4, bool 5, float 10); pass ``(type, value)`` to force one.
        """
        payload = self._new_interaction_base(
            APPLICATION_COMMAND, guild=guild, channel=channel, user=user, locale=locale
        )
        payload["data"] = self._command_data(name, options, guild, None)
        handle = self._register_handle(payload)
        await self.dispatch("INTERACTION_CREATE", payload)
        return handle

    async def autocomplete(
        self,
        name: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        guild: FakeGuild | None = None,
        channel: FakeChannel | None = None,
        user: FakeUser | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Dispatch an autocomplete (type 4) with ``focused`` as the option being typed."""
        payload = self._new_interaction_base(AUTOCOMPLETE, guild=guild, channel=channel, user=user, locale=locale)
        opts = dict(options)
        if focused not in opts:
            opts[focused] = ""
        payload["data"] = self._command_data(name, opts, guild, focused)
        handle = self._register_handle(payload)
        await self.dispatch("INTERACTION_CREATE", payload)
        return handle

    async def click(
        self,
        message: FakeMessage | int,
        custom_id: str,
        *,
        user: FakeUser | None = None,
        component_type: int = 2,
        values: list[str] | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Dispatch a component interaction (type 3) on a message the bot sent."""
        msg = message if isinstance(message, FakeMessage) else self.messages[message]
        if custom_id not in msg.custom_ids():
            raise ValueError(f"message {msg.id} has no component with custom_id {custom_id!r}: {msg.custom_ids()}")
        channel = self.channels[msg.channel_id]
        guild = self.guilds.get(channel.guild_id) if channel.guild_id else None
        payload = self._new_interaction_base(MESSAGE_COMPONENT, guild=guild, channel=channel, user=user, locale=locale)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None or component_type in (3, 5, 6, 7, 8):
            data["values"] = list(values or [])
        payload["data"] = data
        payload["message"] = msg.data
        handle = self._register_handle(payload, message=msg)
        await self.dispatch("INTERACTION_CREATE", payload)
        return handle
