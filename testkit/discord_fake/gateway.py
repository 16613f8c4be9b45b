"""The fake gateway: HELLO → IDENTIFY → READY → GUILD_CREATE, heartbeats, RESUME, dispatch.

Shards: an IDENTIFY may carry ``shard: [shard_id, shard_count]`` (none means ``[0, 1]``). Each
shard has its own session; READY and GUILD_CREATE carry only the guilds on that shard (Discord's
rule, ``(guild_id >> 22) % shard_count == shard_id``), and an event about a guild goes to the
session of its shard (direct messages go to shard 0), like Discord. An IDENTIFY whose shard is
not a pair of whole numbers with ``0 <= shard_id < shard_count`` is closed with 4010 (Invalid
shard). A new IDENTIFY for a shard replaces that shard's previous connection, not the others.

Frames are plain JSON text by default (discord.py decompresses only binary frames). With
``compression=True`` and ``compress=zlib-stream`` in the query, frames are sent as binary through
one shared ``zlib.compressobj`` per connection, each flushed with ``Z_SYNC_FLUSH`` like Discord.
"""

# Waits take an explicit `timeout`: test helpers must never hang the suite.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import json
import secrets
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from .state import DiscordState

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE, VOICE, RESUME, RECONNECT, REQUEST_MEMBERS, INVALID_SESSION, HELLO, ACK = (
    0,
    1,
    2,
    3,
    4,
    6,
    7,
    8,
    9,
    10,
    11,
)


@dataclass
class Connection:
    ws: web.WebSocketResponse
    compressor: Any = None  # zlib compressobj when zlib-stream is on
    session: Session | None = None
    received: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, payload: dict[str, Any]) -> None:
        text = json.dumps(payload)
        if self.ws.closed:
            return
        if self.compressor is not None:
            data = self.compressor.compress(text.encode()) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
            await self.ws.send_bytes(data)
        else:
            await self.ws.send_str(text)


@dataclass
class Session:
    id: str
    intents: int
    shard: tuple[int, int] = (0, 1)  # (shard_id, shard_count) as sent in IDENTIFY
    seq: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)  # sent dispatches, for RESUME replay
    connection: Connection | None = None


class Gateway:
    def __init__(self, fake: DiscordState, *, heartbeat_interval_ms: int, compression: bool) -> None:
        self.fake = fake
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.compression = compression
        self.sessions: dict[str, Session] = {}
        self.current: Session | None = None  # the last session identified or resumed
        self.by_shard: dict[tuple[int, int], Session] = {}  # (shard_id, shard_count) -> its latest session
        self.identified_shards: list[tuple[int, int]] = []  # every accepted IDENTIFY's shard, in order
        self.rejected_shards: list[Any] = []  # the `shard` of IDENTIFYs refused with 4010
        self.connections: list[Connection] = []
        self.identifies = 0
        self.resumes = 0
        self.heartbeats = 0
        self.connects = 0
        self.connect_queries: list[dict[str, str]] = []
        self.close_codes: list[int | None] = []
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        session = self.current
        return session is not None and session.connection is not None and not session.connection.ws.closed

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, heartbeat=None, max_msg_size=0, timeout=2.0)
        await ws.prepare(request)
        self.connects += 1
        self.connect_queries.append(dict(request.query))
        compressor = None
        if self.compression and request.query.get("compress") == "zlib-stream":
            compressor = zlib.compressobj()
        conn = Connection(ws, compressor)
        self.connections.append(conn)
        try:
            await conn.send(
                {"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None, "t": None}
            )
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_message(conn, json.loads(msg.data))
                elif msg.type is WSMsgType.BINARY:
                    await self._on_message(conn, json.loads(msg.data.decode()))
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            self.close_codes.append(ws.close_code)
            if conn.session is not None and conn.session.connection is conn:
                conn.session.connection = None
            if conn in self.connections:
                self.connections.remove(conn)
            self.fake.notifier.notify()
        return ws

    async def _on_message(self, conn: Connection, msg: dict[str, Any]) -> None:
        conn.received.append({k: v for k, v in msg.items() if k != "d"} | {"d": _redact(msg.get("d"))})
        op = msg.get("op")
        data = msg.get("d")
        if op == HEARTBEAT:
            self.heartbeats += 1
            await conn.send({"op": ACK, "d": None, "s": None, "t": None})
        elif op == IDENTIFY:
            await self._identify(conn, data or {})
        elif op == RESUME:
            await self._resume(conn, data or {})
        elif op == REQUEST_MEMBERS:
            await self._members_chunk(conn, data or {})
        self.fake.notifier.notify()

    async def _identify(self, conn: Connection, data: dict[str, Any]) -> None:
        if data.get("token") != self.fake.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        shard = _shard(data.get("shard"))
        if shard is None:
            self.rejected_shards.append(data.get("shard"))
            await conn.ws.close(code=4010, message=b"Invalid shard.")
            return
        self.identifies += 1
        self.identified_shards.append(shard)
        session = Session(id=secrets.token_hex(16), intents=int(data.get("intents") or 0), shard=shard)
        self.sessions[session.id] = session
        previous = self.by_shard.get(shard)
        if previous is not None and previous.connection is not None:
            old = previous.connection
            previous.connection = None
            await old.ws.close(code=4000)
        self.by_shard[shard] = session
        self.current = session
        session.connection = conn
        conn.session = session
        fake = self.fake
        guilds = [g for g in fake.guilds.values() if fake.shard_of(g.id, shard[1]) == shard[0]]
        ready = {
            "v": 10,
            "user": fake.bot_user.me_payload(),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "resume_gateway_url": fake.gateway_url,
            "session_type": "normal",
            "shard": list(shard),
            "application": {"id": str(fake.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "_trace": ["fake-gateway"],
        }
        await self._send_dispatch(session, "READY", ready)
        for guild in guilds:
            await self._send_dispatch(session, "GUILD_CREATE", guild.payload())

    async def _resume(self, conn: Connection, data: dict[str, Any]) -> None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != self.fake.token:
            await conn.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        self.resumes += 1
        if session.connection is not None and session.connection is not conn:
            old = session.connection
            session.connection = None
            await old.ws.close(code=4000)
        session.connection = conn
        conn.session = session
        self.current = session
        self.by_shard[session.shard] = session
        last = int(data.get("seq") or 0)
        for event in session.events:
            if event["s"] > last:
                await conn.send(event)
        await self._send_dispatch(session, "RESUMED", {"_trace": ["fake-gateway"]})

    async def _members_chunk(self, conn: Connection, data: dict[str, Any]) -> None:
        guild = self.fake.guilds.get(int(data.get("guild_id") or 0))
        if guild is None or conn.session is None:
            return
        chunk = {
            "guild_id": str(guild.id),
            "members": [m.payload() for m in guild.members.values()],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        await self._send_dispatch(conn.session, "GUILD_MEMBERS_CHUNK", chunk)

    async def _send_dispatch(self, session: Session, event: str, data: dict[str, Any]) -> None:
        async with self._lock:
            session.seq += 1
            frame = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
            session.events.append(frame)
            conn = session.connection
            if conn is not None and not conn.ws.closed:
                await conn.send(frame)

    def session_for(self, guild_id: int | None) -> Session:
        """The session an event about `guild_id` goes to: its shard's (shard 0 for no guild)."""
        if self.current is None:
            raise RuntimeError("no client has identified with the fake gateway yet")
        if len(self.by_shard) == 1:
            return self.current
        for (shard_id, count), session in self.by_shard.items():
            wanted = 0 if guild_id is None else self.fake.shard_of(guild_id, count)
            if shard_id == wanted:
                return session
        raise RuntimeError(f"no session identified for the shard of guild {guild_id}")

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send to the session of the event's guild (shard 0 for a direct message); if it is
        disconnected the event waits for RESUME."""
        guild_id = data.get("guild_id") if isinstance(data, dict) else None
        await self._send_dispatch(self.session_for(int(guild_id) if guild_id else None), event, data)

    @property
    def connected_shards(self) -> set[tuple[int, int]]:
        """The shards with a live connection."""
        return {shard for shard, s in self.by_shard.items() if s.connection is not None and not s.connection.ws.closed}

    async def drop(self, code: int = 4000) -> None:
        """Close the current connection; the client should reconnect and RESUME."""
        session = self.current
        if session is None or session.connection is None:
            raise RuntimeError("no connected gateway session to drop")
        conn = session.connection
        session.connection = None
        await conn.ws.close(code=code, message=b"dropped by the test")

    async def send_op(self, op: int, data: Any = None) -> None:
        """Send a raw opcode (e.g. RECONNECT 7, INVALID_SESSION 9) on the current connection."""
        session = self.current
        if session is None or session.connection is None:
            raise RuntimeError("no connected gateway session")
        await session.connection.send({"op": op, "d": data, "s": None, "t": None})

    async def wait_connected(self, timeout: float = 5.0) -> None:
        await self.fake.notifier.wait_until(lambda: self.connected, timeout, "a gateway connection")

    async def close_all(self) -> None:
        for conn in list(self.connections):
            if not conn.ws.closed:
                await conn.ws.close(code=1001, message=b"fake shutting down")


def _shard(value: Any) -> tuple[int, int] | None:
    """(shard_id, shard_count) from an IDENTIFY's `shard`, [0, 1] when absent; None when invalid."""
    if value is None:
        return (0, 1)
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        return None
    shard_id, count = value
    return (shard_id, count) if count >= 1 and 0 <= shard_id < count else None


def _redact(data: Any) -> Any:
    if isinstance(data, dict) and "token" in data:
        return {k: ("<redacted>" if k == "token" else v) for k, v in data.items()}
    return data
