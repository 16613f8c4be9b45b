"""Who is asking, and the services a command may use: what every handler receives.

Transports build a `Context` per command (the Discord transport from the interaction, the
console from its `/as` and `/admin` state); `Services` is built once by the composition root
(bot.app) and shared. Identifiers are platform-prefixed strings, as in bot.chat.outbound.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.activity import Activity
from bot.commands.timing import LatencyHistogram
from bot.community.service import CommunityService
from bot.config import Settings
from bot.lookup.service import LookupService
from bot.schedule.clock import Clock, system_clock
from bot.similar.service import SimilarService
from bot.summary.cache import SummaryCache
from storage.db import Database
from storage.loader import Loader

if TYPE_CHECKING:
    from bot.llm.service import LlmService


@dataclass(slots=True)
class Services:
    """The long-lived parts commands use. `clock` is simulated in the console (`/tick`);
    `summaries` keeps composed digest summaries for /digest's pages and the daily post (and the
    web archive's digest pages); `llm` lends them the model's cached summaries and writes a
    card's TL;DR (None: [llm] is off); `latency` counts how long interactions take to answer, and
    `activity` how many are being answered (background work waits for a quiet moment)."""

    db: Database
    settings: Settings
    lookup: LookupService
    loader: Loader
    clock: Clock = field(default=system_clock)
    summaries: SummaryCache = field(default_factory=SummaryCache)
    llm: LlmService | None = None
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    activity: Activity = field(default_factory=Activity)  # requests in flight: background work waits for quiet

    @property
    def community(self) -> CommunityService:
        """Votes, /top and libraries (bot/community/): a view over the database and the look-up."""
        return CommunityService(self.db, self.lookup)

    @property
    def similar(self) -> SimilarService:
        """Similar papers and recommendations (bot/similar/): a view over the database."""
        return SimilarService(self.db)


@dataclass(frozen=True, slots=True)
class Context:
    """One command's caller.

    `user_id` is "discord:123" or "console:alice"; `guild_id` the server ("discord:456",
    "console:lab"), None in a direct message; `channel_id` where the command was typed;
    `is_admin` whether the caller may manage the server (Discord: Manage Server);
    `transport` "discord" or "console"; `user_name` how to address them (display only).
    """

    services: Services
    user_id: str
    guild_id: str | None = None
    channel_id: str | None = None
    is_admin: bool = False
    transport: str = "console"
    user_name: str = ""

    def now(self) -> dt.datetime:
        return self.services.clock()
