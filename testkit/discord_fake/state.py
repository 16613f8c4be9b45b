"""The loopback Discord's state: users, servers, channels, messages, recorded requests, queued faults.

`DiscordState` is what the REST routes (`rest.py`) and the gateway (`gateway.py`) serve;
`server.DiscordFake` builds on it.
"""

# Waits take an explicit `timeout`: test helpers must never hang the suite.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import bisect
import fnmatch
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .models import (
    DM,
    EVERYONE_DEFAULT,
    GUILD_TEXT,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    iso_now,
    snowflake,
)
from .records import (
    FakeMessage,
    InteractionHandle,
    Notifier,
    RecordedRequest,
)
from .wire import API_PREFIX, GATEWAY_PATH, json_response


@dataclass
class Fault:
    """A queued fault: the next ``remaining`` requests matching ``method``/``pattern`` get it."""

    method: str
    pattern: str  # fnmatch glob over the path below /api/v10, e.g. "/channels/*/messages"
    status: int
    remaining: int
    retry_after: float = 0.05
    is_global: bool = False
    body: dict[str, Any] | None = None
    cloudflare: bool = False  # a 429 without 'Via' and with an HTML body, like a Cloudflare ban
    after_handling: bool = False  # the request takes effect, then the response is lost (replaced by this)
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and fnmatch.fnmatchcase(path, self.pattern)

    def response(self) -> web.Response:
        if self.status == 429 and self.cloudflare:
            html = b"<html><body>Error 1015: You are being rate limited.</body></html>"
            return web.Response(status=429, body=html, headers={"Content-Type": "text/html", "Retry-After": "1"})
        if self.status == 429:
            body = self.body or {
                "message": "You are being rate limited.",
                "retry_after": self.retry_after,
                "global": self.is_global,
                "code": 0,
            }
            headers = {
                "Via": "1.1 google",
                "Retry-After": str(max(1, int(self.retry_after + 0.999))),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset-After": f"{self.retry_after:.3f}",
                "X-RateLimit-Bucket": "fake-bucket-" + re.sub(r"\W", "", self.pattern)[:20],
                "X-RateLimit-Scope": "global" if self.is_global else "user",
            }
            headers["X-RateLimit-Reset"] = f"{asyncio.get_running_loop().time():.3f}"
            if self.is_global:
                headers["X-RateLimit-Global"] = "true"
            return json_response(429, body, headers)
        body = self.body or {"message": f"{self.status}: Fake server error", "code": 0}
        return json_response(self.status, body)


@dataclass(frozen=True)
class Endpoint:
    """A named port of the fake (`DiscordFake.endpoint`)."""

    name: str
    host: str
    port: int

    @property
    def api_base(self) -> str:
        return f"http://{self.host}:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}{GATEWAY_PATH}"


class DiscordState:
    """The Discord the fake plays: its users, servers, channels and messages, the requests it
    recorded and the faults queued for them. The REST routes and the gateway read and change it;
    `DiscordFake` adds serving it and what a test does as a user.

    ``deadline_scale`` multiplies the 3-second first-response deadline and the 15-minute token
    lifetime (e.g. 0.1 → 0.3 s), so "too slow" is testable quickly.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        bot_name: str = "paperboy",
        deadline_scale: float = 1.0,
        recommended_shards: int = 1,
    ) -> None:
        self.token = token or "fake." + secrets.token_urlsafe(24)
        self.application_id = snowflake()
        self.bot_user = FakeUser(self.application_id, bot_name, bot=True)
        self.owner = FakeUser(snowflake(), "app-owner")
        self.deadline_scale = deadline_scale
        self.recommended_shards = recommended_shards  # GET /gateway/bot's `shards`
        self.endpoints: dict[int, Endpoint] = {}  # port -> a named endpoint (DiscordFake.endpoint)
        self.users: dict[int, FakeUser] = {self.bot_user.id: self.bot_user, self.owner.id: self.owner}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.messages: dict[int, FakeMessage] = {}
        self.dm_channels: dict[int, int] = {}  # user id -> DM channel id
        self.commands: dict[int | None, list[dict[str, Any]]] = {}  # guild id (None: global) -> commands
        self.interactions: dict[int, InteractionHandle] = {}
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.attachments: dict[int, tuple[dict[str, Any], bytes]] = {}
        # (channel id, nonce) -> message id, for messages sent with enforce_nonce (Discord keeps them minutes)
        self.nonces: dict[tuple[int, str], int] = {}
        self.notifier = Notifier()
        self.host = "127.0.0.1"
        self.port = 0  # set when the server starts

    # -- where it is served ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        """What ``discord.http.Route.BASE`` must be set to."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """What ``DiscordWebSocket.DEFAULT_GATEWAY`` must be set to (discord.py adds the query)."""
        return f"ws://{self.host}:{self.port}{GATEWAY_PATH}"

    # -- state helpers --------------------------------------------------------------------

    def add_user(self, username: str, *, bot: bool = False, dms_open: bool = True) -> FakeUser:
        user = FakeUser(snowflake(), username, bot=bot, dms_open=dms_open)
        self.users[user.id] = user
        return user

    @staticmethod
    def shard_of(guild_id: int, shard_count: int) -> int:
        """Discord's rule: the shard a guild's events arrive on."""
        return (guild_id >> 22) % shard_count

    def add_guild(
        self, name: str = "Test Guild", *, owner: FakeUser | None = None, shard: tuple[int, int] | None = None
    ) -> FakeGuild:
        """A guild with an @everyone role, the bot and the owner as members. ``shard=(id, count)``
        picks an id on that shard (snowflakes made in the same millisecond share a shard)."""
        gid = snowflake()
        if shard is not None:
            shard_id, count = shard
            stamp = gid >> 22
            stamp += (shard_id - stamp) % count
            gid = (stamp << 22) | (gid & 0x3FFFFF)
            while gid in self.guilds:
                gid += 1  # the low bits: same timestamp, same shard
        owner = owner or self.owner
        guild = FakeGuild(gid, name, owner_id=owner.id)
        guild.roles[gid] = FakeRole(gid, "@everyone", EVERYONE_DEFAULT)
        guild.members[self.bot_user.id] = FakeMember(self.bot_user, gid)
        if owner.id != self.bot_user.id:
            guild.members[owner.id] = FakeMember(owner, gid)
        self.guilds[gid] = guild
        return guild

    def add_text_channel(self, guild: FakeGuild, name: str = "general", *, topic: str | None = None) -> FakeChannel:
        channel = FakeChannel(
            snowflake(), name, GUILD_TEXT, guild_id=guild.id, position=len(guild.channels), topic=topic
        )
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        return channel

    def add_role(self, guild: FakeGuild, name: str, permissions: int) -> FakeRole:
        role = FakeRole(snowflake(), name, permissions, position=len(guild.roles))
        guild.roles[role.id] = role
        return role

    def add_member(
        self,
        guild: FakeGuild,
        user: FakeUser | str,
        *,
        permissions: int = 0,
        roles: list[FakeRole] | None = None,
        nick: str | None = None,
    ) -> FakeUser:
        """Add a member. ``permissions`` beyond @everyone's are granted through a new role."""
        if isinstance(user, str):
            user = self.add_user(user)
        role_ids = [r.id for r in roles or []]
        if permissions:
            role_ids.append(self.add_role(guild, f"{user.username}-role", permissions).id)
        guild.members[user.id] = FakeMember(user, guild.id, role_ids, nick=nick)
        return user

    def add_attachment(self, filename: str, data: bytes, *, content_type: str = "text/plain") -> dict[str, Any]:
        """A file as a user would attach it to an ATTACHMENT option: pass the returned payload (or its
        ``id``) as the option value, e.g. ``fake.slash("ingest", {"file": (11, att["id"])})``; the bot
        downloads it from ``url`` (served by the fake, no authorization needed)."""
        aid = snowflake()
        url = f"{self.base_url}/attachments/{aid}/{filename}"
        payload = {"id": str(aid), "filename": filename, "size": len(data), "url": url, "proxy_url": url,
                   "content_type": content_type}
        self.attachments[aid] = (payload, data)
        return payload

    def set_dms_open(self, user: FakeUser | int, is_open: bool) -> None:
        """With ``False``, messages to the user's DM channel answer 403, code 50007."""
        self.users[id_of(user)].dms_open = is_open

    def dm_channel_for(self, user: FakeUser | int) -> FakeChannel:
        uid = id_of(user)
        cid = self.dm_channels.get(uid)
        if cid is None:
            channel = FakeChannel(snowflake(), "", DM, recipient_id=uid)
            self.channels[channel.id] = channel
            self.dm_channels[uid] = cid = channel.id
        return self.channels[cid]

    def application_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": self.bot_user.username,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 0,
            "owner": self.owner.payload(),
            "team": None,
            "bot": self.bot_user.payload(),
            "rpc_origins": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "tags": [],
            "approximate_guild_count": len(self.guilds),
            "integration_types_config": {"0": {}},
        }

    # -- fault injection ------------------------------------------------------------------

    def inject_rate_limit(
        self,
        pattern: str,
        count: int = 1,
        *,
        method: str = "*",
        retry_after: float = 0.05,
        is_global: bool = False,
        cloudflare: bool = False,
    ) -> Fault:
        """The next ``count`` requests matching the glob (below /api/v10) answer 429.

        ``is_global`` sets ``global: true`` and ``X-RateLimit-Global``; ``cloudflare`` leaves out
        the ``Via`` header and sends HTML, which discord.py does not retry.
        """
        fault = Fault(method, pattern, 429, count, retry_after=retry_after, is_global=is_global, cloudflare=cloudflare)
        self.faults.append(fault)
        return fault

    def inject_error(
        self,
        pattern: str,
        status: int = 500,
        count: int = 1,
        *,
        method: str = "*",
        body: dict[str, Any] | None = None,
        after_handling: bool = False,
    ) -> Fault:
        """The next ``count`` matching requests answer ``status`` (e.g. 500/502/503) with ``body``.

        ``after_handling``: the request is carried out first (a message is created) and only the
        answer is replaced, like a gateway timeout after Discord did the work: a client that
        retries blindly posts twice; one that sends ``nonce`` + ``enforce_nonce`` does not.
        """
        fault = Fault(method, pattern, status, count, body=body, after_handling=after_handling)
        self.faults.append(fault)
        return fault

    def take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.remaining > 0 and fault.matches(method, path):
                fault.remaining -= 1
                fault.hits += 1
                return fault
        return None

    # -- recording accessors --------------------------------------------------------------

    def client_at(self, port: int) -> str:
        """The name of the endpoint listening on `port` ("" for the fake's own)."""
        known = self.endpoints.get(port)
        return known.name if known is not None else ""

    def max_requests_in(self, window: float = 1.0, requests: list[RecordedRequest] | None = None) -> int:
        """The most requests (default: all recorded, from every client) that arrived within any
        ``window`` seconds: what Discord's global rate limit (50 a second per token) counts."""
        stamps = sorted(r.at for r in (self.requests if requests is None else requests))
        return max((bisect.bisect_left(stamps, t + window) - i for i, t in enumerate(stamps)), default=0)

    def requests_to(self, method: str, pattern: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and fnmatch.fnmatchcase(r.path, pattern)]

    @property
    def unknown_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.matched_route is None]

    def messages_in(self, channel: FakeChannel | int, *, include_interactions: bool = False) -> list[FakeMessage]:
        """Live messages in a channel, oldest first (channel posts; optionally interaction replies)."""
        cid = id_of(channel)
        return [
            m
            for m in self.messages.values()
            if m.channel_id == cid and not m.deleted and (include_interactions or m.source == "channel")
        ]

    def dms_to(self, user: FakeUser | int) -> list[FakeMessage]:
        cid = self.dm_channels.get(id_of(user))
        return [] if cid is None else self.messages_in(cid)

    def registered_commands(self, guild: FakeGuild | int | None = None) -> list[dict[str, Any]]:
        return list(self.commands.get(None if guild is None else id_of(guild), []))

    def interaction(self, interaction_id: int) -> InteractionHandle:
        return self.interactions[interaction_id]

    async def wait_until(self, predicate: Any, timeout: float = 5.0, what: str = "condition") -> Any:
        """Wait until ``predicate()`` is truthy (re-checked after every request); returns its value."""
        return await self.notifier.wait_until(predicate, timeout, what)

    async def wait_for_messages(
        self, channel: FakeChannel | int, count: int = 1, timeout: float = 5.0
    ) -> list[FakeMessage]:
        result: list[FakeMessage] = await self.wait_until(
            lambda: (msgs := self.messages_in(channel)) and len(msgs) >= count and msgs, timeout, "messages"
        )
        return result

    # -- messages -------------------------------------------------------------------------

    def build_message(
        self,
        channel: FakeChannel,
        body: Mapping[str, Any],
        *,
        source: str,
        flags: int = 0,
        handle: InteractionHandle | None = None,
        message_type: int = 0,
    ) -> FakeMessage:
        mid = snowflake()
        content = str(body.get("content") or "")
        allowed = body.get("allowed_mentions")
        mentions, mention_roles, everyone = self._resolve_mentions(channel, content, allowed)
        data: dict[str, Any] = {
            "id": str(mid),
            "channel_id": str(channel.id),
            "author": self.bot_user.payload(),
            "content": content,
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts")),
            "mention_everyone": everyone,
            "mentions": mentions,
            "mention_roles": mention_roles,
            "mention_channels": [],
            "attachments": self._attachments_of(body),
            "embeds": [self._normalise_embed(e) for e in body.get("embeds") or []],
            "reactions": [],
            "pinned": False,
            "type": message_type,
            "flags": flags | int(body.get("flags") or 0),
            "components": list(body.get("components") or []),
        }
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        if body.get("message_reference"):
            data["message_reference"] = body["message_reference"]
        if handle is not None:
            data["webhook_id"] = str(self.application_id)
            data["application_id"] = str(self.application_id)
            user = handle.payload.get("member", {}).get("user") or handle.payload.get("user")
            data["interaction_metadata"] = {
                "id": str(handle.id),
                "type": handle.type,
                "user": user,
                "authorizing_integration_owners": handle.payload.get("authorizing_integration_owners", {}),
            }
        msg = FakeMessage(data=data, source=source, request=dict(body), allowed_mentions=allowed)
        msg.interaction_id = handle.id if handle else None
        self.messages[mid] = msg
        channel.last_message_id = mid
        return msg

    def _attachments_of(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The message's attachments as Discord returns them (complete, for discord.py): the files
        uploaded with it, else the attachments the body keeps."""
        files, sizes = list(body.get("_files") or []), list(body.get("_file_sizes") or [])
        if not files:
            return list(body.get("attachments") or [])
        out = []
        for filename, size in zip(files, sizes or [0] * len(files), strict=True):
            aid = snowflake()
            url = f"{self.base_url}/attachments/{aid}/{filename}"
            out.append({"id": str(aid), "filename": filename, "size": size, "url": url, "proxy_url": url})
        return out

    def edit_message(self, msg: FakeMessage, body: Mapping[str, Any]) -> FakeMessage:
        msg.edits.append(dict(body))
        data = msg.data
        if "content" in body:
            data["content"] = str(body.get("content") or "")
        if "embeds" in body:
            data["embeds"] = [self._normalise_embed(e) for e in body.get("embeds") or []]
        if "components" in body:
            data["components"] = list(body.get("components") or [])
        if "attachments" in body or body.get("_files"):
            data["attachments"] = self._attachments_of(body)
        if "flags" in body and body["flags"] is not None:
            # Only SUPPRESS_EMBEDS can be toggled by an edit; ephemeral/loading stay as they were.
            keep = data.get("flags", 0) & ~(1 << 2)
            data["flags"] = keep | (int(body["flags"]) & (1 << 2))
        if "allowed_mentions" in body:
            msg.allowed_mentions = body["allowed_mentions"]
        channel = self.channels.get(msg.channel_id)
        if channel is not None:
            mentions, roles, everyone = self._resolve_mentions(channel, data["content"], msg.allowed_mentions)
            data.update(mentions=mentions, mention_roles=roles, mention_everyone=everyone)
        data["edited_timestamp"] = iso_now()
        return msg

    @staticmethod
    def _normalise_embed(embed: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(embed)
        out.setdefault("type", "rich")
        return out

    def _resolve_mentions(
        self, channel: FakeChannel, content: str, allowed: Mapping[str, Any] | None
    ) -> tuple[list[dict[str, Any]], list[str], bool]:
        """Which mentions in ``content`` would ping, given ``allowed_mentions`` (None: all)."""
        parse = {"users", "roles", "everyone"} if allowed is None else set(allowed.get("parse") or [])
        users_ok = {int(u) for u in (allowed or {}).get("users") or []}
        roles_ok = {int(r) for r in (allowed or {}).get("roles") or []}
        mentions = []
        for raw in dict.fromkeys(re.findall(r"<@!?(\d+)>", content)):
            uid = int(raw)
            if ("users" in parse or uid in users_ok) and uid in self.users:
                mentions.append(self.users[uid].payload())
        roles = [
            raw for raw in dict.fromkeys(re.findall(r"<@&(\d+)>", content)) if "roles" in parse or int(raw) in roles_ok
        ]
        everyone = "everyone" in parse and ("@everyone" in content or "@here" in content)
        return mentions, roles, everyone


def id_of(obj: Any) -> int:
    if isinstance(obj, int):
        return obj
    if isinstance(obj, str):
        return int(obj)
    if isinstance(obj, Mapping):
        return int(obj["id"])
    return int(obj.id)
