"""The daily token budget: requests stop for the UTC day once the day's tokens reach it.

Measured against what the database says was spent today (every process counts there), plus what
this process's requests in flight may still spend (reserved before they go out, so eight
concurrent requests cannot each find room for themselves in the last few tokens).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.schedule.clock import Clock, system_clock
from storage import llm_cache
from storage.db import Database


@dataclass(slots=True)
class Budget:
    db: Database
    limit: int
    clock: Clock = field(default=system_clock)
    _reserved: int = 0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def spent(self) -> int:
        return await llm_cache.tokens_on(self.db, self.clock().date())

    async def reserve(self, tokens: int) -> bool:
        """Set `tokens` aside for one request; False (nothing reserved) when the day's budget has no room."""
        async with self._lock:  # one check at a time: each sees the others' reservations
            if await self.spent() + self._reserved + tokens > self.limit:
                return False
            self._reserved += tokens
            return True

    def release(self, tokens: int) -> None:
        """The request ended (its real cost is counted in the database by now)."""
        self._reserved = max(0, self._reserved - tokens)
