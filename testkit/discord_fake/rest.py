"""REST routes of the fake under /api/v10, plus the recording/auth/fault middleware."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import limits
from .models import DM, PRIVATE_THREAD, PUBLIC_THREAD, FakeChannel, snowflake
from .records import (
    ALLOWED_CALLBACKS,
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    DEFERRED_UPDATE_MESSAGE,
    EPHEMERAL,
    LOADING,
    UPDATE_MESSAGE,
    FakeMessage,
    InteractionHandle,
    RecordedRequest,
    ResponseAttempt,
)
from .wire import API_PREFIX, GATEWAY_PATH, error_response, form_error, json_response

if TYPE_CHECKING:
    from .state import DiscordState

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

BODY_KEY = web.RequestKey("fake_body", object)
RECORD_KEY = web.RequestKey("fake_record", RecordedRequest)

# Routes Discord serves without the bot token (the interaction token is the credential).
_NO_AUTH_PREFIXES = ("/interactions/", "/webhooks/", "/gateway", "/attachments/")


async def _read_body(request: web.Request) -> Any:
    if not request.can_read_body:
        return None
    ctype = request.content_type
    if ctype == "application/json":
        raw = await request.read()
        return json.loads(raw) if raw else None
    if ctype.startswith("multipart/"):
        body: dict[str, Any] = {}
        files: list[str] = []
        sizes: list[int] = []
        form = await request.post()
        for key, value in form.items():
            if key == "payload_json":
                body.update(json.loads(str(value)))
            elif hasattr(value, "filename"):
                files.append(str(value.filename))
                sizes.append(len(value.file.read()))
        body["_files"] = files
        body["_file_sizes"] = sizes
        return body
    return (await request.read()).decode("utf-8", "replace")


def _local_port(request: web.Request) -> int:
    sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
    return int(sockname[1]) if sockname else 0


class Rest:
    def __init__(self, fake: DiscordState) -> None:
        self.fake = fake

    # -- plumbing -------------------------------------------------------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        fake = self.fake
        if request.path.rstrip("/") == GATEWAY_PATH.rstrip("/"):
            return await handler(request)
        rel = request.path[len(API_PREFIX) :] if request.path.startswith(API_PREFIX) else request.path
        try:
            body = await _read_body(request)
        except (ValueError, UnicodeDecodeError):
            body = None
        auth = request.headers.get("Authorization")
        record = RecordedRequest(
            method=request.method,
            path=rel,
            query=dict(request.query),
            json=body,
            headers={k: v for k, v in request.headers.items() if k.lower() != "authorization"},
            had_authorization=auth is not None,
            client=fake.client_at(_local_port(request)),
        )
        resource = request.match_info.route.resource
        canonical = resource.canonical if resource is not None else None
        record.matched_route = None if canonical in (None, "/{tail}") else canonical
        fake.requests.append(record)
        request[BODY_KEY] = body
        request[RECORD_KEY] = record
        try:
            response: web.StreamResponse
            if (
                record.matched_route is not None
                and not rel.startswith(_NO_AUTH_PREFIXES)
                and auth != f"Bot {fake.token}"
            ):
                response = error_response(401, 0, "401: Unauthorized")
            elif record.matched_route is not None and (fault := fake.take_fault(request.method, rel)) is not None:
                record.injected = True
                if fault.after_handling:
                    await handler(request)
                response = fault.response()
            else:
                response = await handler(request)
        except web.HTTPException as exc:  # pragma: no cover - defensive
            response = exc
        record.status = response.status
        if (
            isinstance(response, web.Response)
            and response.body is not None
            and response.content_type == "application/json"
        ):
            try:
                record.response = json.loads(bytes(response.body))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                record.response = None
        fake.notifier.notify()
        return response

    def body(self, request: web.Request) -> Any:
        return request[BODY_KEY]

    # -- users, application, gateway ------------------------------------------------------

    async def get_me(self, request: web.Request) -> web.Response:
        return json_response(200, self.fake.bot_user.me_payload())

    async def get_user(self, request: web.Request) -> web.Response:
        user = self.fake.users.get(int(request.match_info["user_id"]))
        if user is None:
            return error_response(404, limits.CODE_UNKNOWN_USER, "Unknown User")
        return json_response(200, user.payload())

    async def get_application(self, request: web.Request) -> web.Response:
        return json_response(200, self.fake.application_payload())

    async def get_gateway(self, request: web.Request) -> web.Response:
        return json_response(200, {"url": self.fake.gateway_url.rstrip("/")})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        return json_response(
            200,
            {
                "url": self.fake.gateway_url.rstrip("/"),
                "shards": self.fake.recommended_shards,
                "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
            },
        )

    async def create_dm(self, request: web.Request) -> web.Response:
        body = self.body(request) or {}
        try:
            uid = int(body["recipient_id"])
        except (KeyError, TypeError, ValueError):
            return form_error([limits.FieldError(("recipient_id",), "BASE_TYPE_REQUIRED", "This field is required")])
        if uid not in self.fake.users:
            return error_response(404, limits.CODE_UNKNOWN_USER, "Unknown User")
        channel = self.fake.dm_channel_for(uid)
        return json_response(200, channel.payload(self.fake.users))

    # -- guilds ---------------------------------------------------------------------------

    async def get_guild(self, request: web.Request) -> web.Response:
        guild = self.fake.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            return error_response(404, limits.CODE_UNKNOWN_GUILD, "Unknown Guild")
        payload = guild.payload()
        for key in ("members", "channels", "threads", "presences", "voice_states", "member_count"):
            payload.pop(key, None)
        return json_response(200, payload)

    async def get_guild_channels(self, request: web.Request) -> web.Response:
        guild = self.fake.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            return error_response(404, limits.CODE_UNKNOWN_GUILD, "Unknown Guild")
        return json_response(200, [c.payload() for c in guild.channels.values() if not c.is_thread])

    async def get_guild_member(self, request: web.Request) -> web.Response:
        guild = self.fake.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            return error_response(404, limits.CODE_UNKNOWN_GUILD, "Unknown Guild")
        member = guild.members.get(int(request.match_info["user_id"]))
        if member is None:
            return error_response(404, 10007, "Unknown Member")
        return json_response(200, member.payload())

    # -- application commands -------------------------------------------------------------

    def _scope(self, request: web.Request) -> int | None | web.Response:
        if int(request.match_info["app_id"]) != self.fake.application_id:
            return error_response(403, 50001, "Missing Access")
        gid = request.match_info.get("guild_id")
        if gid is None:
            return None
        if int(gid) not in self.fake.guilds:
            return error_response(403, 50001, "Missing Access")
        return int(gid)

    def _stored_command(
        self, command: dict[str, Any], scope: int | None, previous: list[dict[str, Any]]
    ) -> dict[str, Any]:
        ctype = int(command.get("type", 1))
        perms = command.get("default_member_permissions")
        old = next((c for c in previous if c["name"] == command["name"] and c["type"] == ctype), None)
        stored: dict[str, Any] = {
            "id": old["id"] if old else str(snowflake()),
            "application_id": str(self.fake.application_id),
            "version": str(snowflake()),
            "type": ctype,
            "name": command["name"],
            "description": command.get("description", ""),
            "options": command.get("options") or [],
            "default_member_permissions": None if perms is None else str(perms),
            "dm_permission": command.get("dm_permission", True),
            "nsfw": bool(command.get("nsfw", False)),
            "contexts": command.get("contexts") or [0, 1, 2],
            "integration_types": command.get("integration_types") or [0],
            "name_localizations": command.get("name_localizations"),
            "description_localizations": command.get("description_localizations"),
        }
        if scope is not None:
            stored["guild_id"] = str(scope)
        return stored

    async def put_commands(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        if isinstance(scope, web.Response):
            return scope
        body = self.body(request)
        errors = limits.validate_command_list(body)
        if errors:
            return form_error(errors)
        previous = self.fake.commands.get(scope, [])
        stored = [self._stored_command(c, scope, previous) for c in body]
        self.fake.commands[scope] = stored
        return json_response(200, stored)

    async def get_commands(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        if isinstance(scope, web.Response):
            return scope
        return json_response(200, self.fake.commands.get(scope, []))

    async def post_command(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        if isinstance(scope, web.Response):
            return scope
        body = self.body(request)
        errors = limits.validate_command(body)
        if errors:
            return form_error(errors)
        previous = self.fake.commands.setdefault(scope, [])
        stored = self._stored_command(body, scope, previous)
        existing = [i for i, c in enumerate(previous) if c["id"] == stored["id"]]
        if existing:
            previous[existing[0]] = stored
            return json_response(200, stored)
        previous.append(stored)
        return json_response(201, stored)

    async def one_command(self, request: web.Request) -> web.Response:
        scope = self._scope(request)
        if isinstance(scope, web.Response):
            return scope
        commands = self.fake.commands.setdefault(scope, [])
        cid = request.match_info["command_id"]
        index = next((i for i, c in enumerate(commands) if c["id"] == cid), None)
        if index is None:
            return error_response(404, limits.CODE_UNKNOWN_COMMAND, "Unknown application command")
        if request.method == "GET":
            return json_response(200, commands[index])
        if request.method == "DELETE":
            commands.pop(index)
            return json_response(204)
        merged = {**commands[index], **(self.body(request) or {})}
        errors = limits.validate_command(merged)
        if errors:
            return form_error(errors)
        commands[index] = self._stored_command(merged, scope, commands)
        return json_response(200, commands[index])

    # -- channels and messages ------------------------------------------------------------

    def _channel(self, request: web.Request) -> FakeChannel | web.Response:
        channel = self.fake.channels.get(int(request.match_info["channel_id"]))
        if channel is None:
            return error_response(404, limits.CODE_UNKNOWN_CHANNEL, "Unknown Channel")
        return channel

    def _message(self, request: web.Request, channel: FakeChannel) -> FakeMessage | web.Response:
        msg = self.fake.messages.get(int(request.match_info["message_id"]))
        if msg is None or msg.deleted or msg.channel_id != channel.id:
            return error_response(404, limits.CODE_UNKNOWN_MESSAGE, "Unknown Message")
        return msg

    async def get_channel(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if isinstance(channel, web.Response):
            return channel
        return json_response(200, channel.payload(self.fake.users))

    def _dm_closed(self, channel: FakeChannel) -> bool:
        if channel.type != DM or channel.recipient_id is None:
            return False
        user = self.fake.users.get(channel.recipient_id)
        return user is not None and not user.dms_open

    async def post_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if isinstance(channel, web.Response):
            return channel
        body = self.body(request) or {}
        errors = limits.validate_message(body)
        if errors:
            return form_error(errors)
        if limits.is_empty_message(body) and not body.get("_files"):
            return error_response(400, limits.CODE_EMPTY_MESSAGE, "Cannot send an empty message")
        if self._dm_closed(channel):
            return error_response(403, limits.CODE_CANNOT_DM, "Cannot send messages to this user")
        nonce = (channel.id, str(body["nonce"])) if body.get("enforce_nonce") and body.get("nonce") else None
        if nonce is not None and nonce in self.fake.nonces:  # Discord answers with the first message
            return json_response(200, self.fake.messages[self.fake.nonces[nonce]].data)
        flags = int(body.get("flags") or 0) & ~EPHEMERAL
        msg = self.fake.build_message(channel, {**body, "flags": flags}, source="channel")
        if nonce is not None:
            self.fake.nonces[nonce] = msg.id
        return json_response(200, msg.data)

    async def get_attachment(self, request: web.Request) -> web.StreamResponse:
        found = self.fake.attachments.get(int(request.match_info["attachment_id"]))
        if found is None:
            return error_response(404, 0, "404: Not Found")
        payload, data = found
        return web.Response(status=200, body=data, headers={"Content-Type": payload["content_type"]})

    async def list_messages(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if isinstance(channel, web.Response):
            return channel
        limit = int(request.query.get("limit", "50"))
        msgs = [m.data for m in self.fake.messages_in(channel, include_interactions=True) if not m.ephemeral]
        return json_response(200, list(reversed(msgs))[:limit])

    async def one_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if isinstance(channel, web.Response):
            return channel
        msg = self._message(request, channel)
        if isinstance(msg, web.Response):
            return msg
        if request.method == "GET":
            return json_response(200, msg.data)
        if request.method == "DELETE":
            msg.deleted = True
            return json_response(204)
        body = self.body(request) or {}
        errors = limits.validate_message(body, require_body=False)
        if errors:
            return form_error(errors)
        self.fake.edit_message(msg, body)
        return json_response(200, msg.data)

    def _thread(self, parent: FakeChannel, body: dict[str, Any], thread_id: int | None, ttype: int) -> web.Response:
        name = body.get("name")
        errors: list[limits.FieldError] = []
        limits._len_between(errors, ("name",), name, 1, limits.THREAD_NAME)
        if errors:
            return form_error(errors)
        if parent.guild_id is None or parent.is_thread:
            return error_response(400, 50024, "Cannot execute action on this channel type")
        thread = FakeChannel(
            thread_id or snowflake(),
            str(name),
            ttype,
            guild_id=parent.guild_id,
            parent_id=parent.id,
            owner_id=self.fake.bot_user.id,
        )
        self.fake.channels[thread.id] = thread
        self.fake.guilds[parent.guild_id].channels[thread.id] = thread
        payload = thread.payload()
        payload["thread_metadata"]["auto_archive_duration"] = int(body.get("auto_archive_duration") or 1440)
        payload["newly_created"] = True
        payload["member"] = {
            "id": str(thread.id),
            "user_id": str(self.fake.bot_user.id),
            "join_timestamp": payload["thread_metadata"]["archive_timestamp"],
            "flags": 0,
        }
        return json_response(201, payload)

    async def thread_from_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if isinstance(channel, web.Response):
            return channel
        msg = self._message(request, channel)
        if isinstance(msg, web.Response):
            return msg
        return self._thread(channel, self.body(request) or {}, msg.id, PUBLIC_THREAD)

    async def thread_without_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if isinstance(channel, web.Response):
            return channel
        body = self.body(request) or {}
        ttype = int(body.get("type") or PRIVATE_THREAD)
        return self._thread(channel, body, None, ttype)

    async def no_content(self, request: web.Request) -> web.Response:
        return json_response(204)

    # -- interactions ---------------------------------------------------------------------

    def _attempt(
        self, handle: InteractionHandle, kind: str, body: Any, response: web.Response, callback_type: int | None = None
    ) -> web.Response:
        payload: Any = None
        if response.body is not None and response.content_type == "application/json":
            payload = json.loads(bytes(response.body))  # type: ignore[arg-type]
        handle.attempts.append(
            ResponseAttempt(
                kind=kind,
                status=response.status,
                body=body,
                response=payload,
                callback_type=callback_type,
                at=asyncio.get_running_loop().time() - handle.created_at,
            )
        )
        return response

    def _expired(self, handle: InteractionHandle, seconds: float) -> bool:
        return asyncio.get_running_loop().time() - handle.created_at > seconds * self.fake.deadline_scale

    async def interaction_callback(self, request: web.Request) -> web.Response:
        fake = self.fake
        handle = fake.interactions.get(int(request.match_info["interaction_id"]))
        body = self.body(request) or {}
        if handle is None or handle.token != request.match_info["token"]:
            return error_response(404, limits.CODE_UNKNOWN_INTERACTION, "Unknown interaction")
        ctype = body.get("type") if isinstance(body, dict) else None
        resp = self._callback(handle, body, ctype, request.query.get("with_response") in ("1", "true", "True"))
        return self._attempt(handle, "callback", body, resp, ctype if isinstance(ctype, int) else None)

    def _callback(
        self, handle: InteractionHandle, body: dict[str, Any], ctype: Any, with_response: bool
    ) -> web.Response:
        fake = self.fake
        if handle.acknowledged:
            return error_response(400, limits.CODE_ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged.")
        if self._expired(handle, limits.INTERACTION_DEADLINE_S):
            return error_response(404, limits.CODE_UNKNOWN_INTERACTION, "Unknown interaction")
        if ctype not in ALLOWED_CALLBACKS.get(handle.type, frozenset()):
            return form_error(
                [limits.FieldError(("type",), "INTERACTION_RESPONSE_TYPE_INVALID", f"Invalid response type {ctype!r}")]
            )
        data = body.get("data") or {}
        if ctype in (CHANNEL_MESSAGE, UPDATE_MESSAGE):
            errors = limits.prefixed(limits.validate_message(data), "data")
            if errors:
                return form_error(errors)
            if ctype == CHANNEL_MESSAGE and limits.is_empty_message(data):
                return error_response(400, limits.CODE_EMPTY_MESSAGE, "Cannot send an empty message")
        if ctype == AUTOCOMPLETE_RESULT:
            errors = limits.validate_autocomplete(data)
            if errors:
                return form_error(errors)
        channel = fake.channels[int(handle.payload["channel_id"])]
        resource: dict[str, Any] = {"type": ctype}
        message: FakeMessage | None = None
        if ctype == CHANNEL_MESSAGE:
            message = fake.build_message(channel, data, source="interaction", handle=handle, message_type=20)
            handle.original = message
        elif ctype == DEFERRED_CHANNEL_MESSAGE:
            flags = LOADING | (int(data.get("flags") or 0) & EPHEMERAL)
            message = fake.build_message(
                channel, {"flags": flags}, source="interaction", handle=handle, message_type=20
            )
            handle.original = message
        elif ctype == UPDATE_MESSAGE and handle.message is not None:
            message = fake.edit_message(handle.message, {k: v for k, v in data.items() if k != "flags"})
        elif ctype == DEFERRED_UPDATE_MESSAGE:
            message = None
        elif ctype == AUTOCOMPLETE_RESULT:
            handle.choices = list(data.get("choices") or [])
        handle.callback_type = ctype
        if handle.message is not None and handle.original is None:
            handle.original = handle.message  # @original of a component interaction is its message
        if message is not None:
            resource["message"] = message.data
        if not with_response:
            return json_response(204)
        interaction: dict[str, Any] = {"id": str(handle.id), "type": handle.type}
        if message is not None:
            interaction.update(
                response_message_id=str(message.id),
                response_message_loading=message.loading,
                response_message_ephemeral=message.ephemeral,
            )
        return json_response(200, {"interaction": interaction, "resource": resource})

    def _webhook_handle(self, request: web.Request) -> InteractionHandle | web.Response:
        token = request.match_info["token"]
        handle = next((h for h in self.fake.interactions.values() if h.token == token), None)
        if handle is None or int(request.match_info["app_id"]) != self.fake.application_id:
            return error_response(404, limits.CODE_UNKNOWN_WEBHOOK, "Unknown Webhook")
        return handle

    async def followup(self, request: web.Request) -> web.Response:
        handle = self._webhook_handle(request)
        if isinstance(handle, web.Response):
            return handle
        body = self.body(request) or {}
        return self._attempt(handle, "followup", body, self._followup(handle, body, request))

    def _followup(self, handle: InteractionHandle, body: dict[str, Any], request: web.Request) -> web.Response:
        fake = self.fake
        if self._expired(handle, limits.INTERACTION_TOKEN_S):
            return error_response(401, limits.CODE_INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token")
        if not handle.acknowledged:
            return error_response(404, limits.CODE_UNKNOWN_WEBHOOK, "Unknown Webhook")
        errors = limits.validate_message(body)
        if errors:
            return form_error(errors)
        if limits.is_empty_message(body) and not body.get("_files"):
            return error_response(400, limits.CODE_EMPTY_MESSAGE, "Cannot send an empty message")
        original = handle.original
        if handle.callback_type == DEFERRED_CHANNEL_MESSAGE and original is not None and original.loading:
            # Discord: the first follow-up after a deferred response replaces the "thinking…" message.
            fake.edit_message(original, body)
            original.data["flags"] = original.flags & ~LOADING
            msg = original
        else:
            channel = fake.channels[int(handle.payload["channel_id"])]
            flags = int(body.get("flags") or 0) & EPHEMERAL
            msg = fake.build_message(channel, {**body, "flags": flags}, source="followup", handle=handle)
        handle.followups.append(msg)
        wait = request.query.get("wait", "false").lower() in ("1", "true")
        return json_response(200, msg.data) if wait else json_response(204)

    def _webhook_message(self, handle: InteractionHandle, request: web.Request) -> FakeMessage | web.Response:
        mid = request.match_info.get("message_id", "@original")
        if mid == "@original":
            msg = handle.original
        else:
            msg = next((m for m in handle.followups if str(m.id) == mid), None)
            if msg is None and handle.original is not None and str(handle.original.id) == mid:
                msg = handle.original
        if msg is None or msg.deleted:
            return error_response(404, limits.CODE_UNKNOWN_MESSAGE, "Unknown Message")
        return msg

    async def webhook_message(self, request: web.Request) -> web.Response:
        handle = self._webhook_handle(request)
        if isinstance(handle, web.Response):
            return handle
        which = "original" if request.match_info.get("message_id", "@original") == "@original" else "followup"
        kind = {"GET": "get_", "PATCH": "edit_", "DELETE": "delete_"}[request.method] + which
        body = self.body(request)
        return self._attempt(handle, kind, body, self._webhook_message_op(handle, request, body))

    def _webhook_message_op(self, handle: InteractionHandle, request: web.Request, body: Any) -> web.Response:
        if self._expired(handle, limits.INTERACTION_TOKEN_S):
            return error_response(401, limits.CODE_INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token")
        msg = self._webhook_message(handle, request)
        if isinstance(msg, web.Response):
            return msg
        if request.method == "GET":
            return json_response(200, msg.data)
        if request.method == "DELETE":
            msg.deleted = True
            return json_response(204)
        body = body or {}
        errors = limits.validate_message(body, require_body=False)
        if errors:
            return form_error(errors)
        self.fake.edit_message(msg, body)
        if msg.loading:
            msg.data["flags"] = msg.flags & ~LOADING
        return json_response(200, msg.data)

    async def unknown(self, request: web.Request) -> web.Response:
        return error_response(404, 0, "404: Not Found")


def build_app(fake: DiscordState, gateway: Handler) -> web.Application:
    """The fake's routes: Discord's REST API over `fake`, and `gateway` serving the websocket."""
    rest = Rest(fake)
    app = web.Application(middlewares=[rest.middleware], client_max_size=64 * 1024 * 1024)
    r = app.router
    p = API_PREFIX
    r.add_get(GATEWAY_PATH, gateway)
    r.add_get(GATEWAY_PATH.rstrip("/"), gateway)  # as GET /gateway/bot spells it, like Discord
    r.add_get(p + "/users/@me", rest.get_me)
    r.add_post(p + "/users/@me/channels", rest.create_dm)
    r.add_get(p + "/users/{user_id}", rest.get_user)
    r.add_get(p + "/oauth2/applications/@me", rest.get_application)
    r.add_get(p + "/applications/@me", rest.get_application)
    r.add_get(p + "/gateway", rest.get_gateway)
    r.add_get(p + "/gateway/bot", rest.get_gateway_bot)
    r.add_get(p + "/guilds/{guild_id}", rest.get_guild)
    r.add_get(p + "/guilds/{guild_id}/channels", rest.get_guild_channels)
    r.add_get(p + "/guilds/{guild_id}/members/{user_id}", rest.get_guild_member)
    for base in (p + "/applications/{app_id}", p + "/applications/{app_id}/guilds/{guild_id}"):
        r.add_put(base + "/commands", rest.put_commands)
        r.add_get(base + "/commands", rest.get_commands)
        r.add_post(base + "/commands", rest.post_command)
        for method in ("GET", "PATCH", "DELETE"):
            r.add_route(method, base + "/commands/{command_id}", rest.one_command)
    r.add_get(p + "/channels/{channel_id}", rest.get_channel)
    r.add_post(p + "/channels/{channel_id}/messages", rest.post_message)
    r.add_get(p + "/channels/{channel_id}/messages", rest.list_messages)
    r.add_post(p + "/channels/{channel_id}/messages/{message_id}/threads", rest.thread_from_message)
    for method in ("GET", "PATCH", "DELETE"):
        r.add_route(method, p + "/channels/{channel_id}/messages/{message_id}", rest.one_message)
    r.add_post(p + "/channels/{channel_id}/threads", rest.thread_without_message)
    r.add_post(p + "/channels/{channel_id}/typing", rest.no_content)
    r.add_put(p + "/channels/{channel_id}/thread-members/@me", rest.no_content)
    r.add_post(p + "/interactions/{interaction_id}/{token}/callback", rest.interaction_callback)
    r.add_post(p + "/webhooks/{app_id}/{token}", rest.followup)
    for method in ("GET", "PATCH", "DELETE"):
        r.add_route(method, p + "/webhooks/{app_id}/{token}/messages/@original", rest.webhook_message)
        r.add_route(method, p + "/webhooks/{app_id}/{token}/messages/{message_id}", rest.webhook_message)
    r.add_get("/attachments/{attachment_id}/{filename}", rest.get_attachment)
    r.add_route("*", "/{tail:.*}", rest.unknown)
    return app
