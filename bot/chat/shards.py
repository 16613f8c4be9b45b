"""Which Discord servers this process serves: its shards, as a value the core can ask.

Discord splits a bot's servers into `count` shards by the server's id: server G is on shard
`(G >> 22) % count`. Each `paperboy run` process connects some of them (`[discord] shard_ids`,
`shard_count`, or `--shards 0-2 --shard-count 9`) and does the work of exactly those servers,
so processes sharing one database never post for the same server:

    shards = ShardSet.parse(["0-2"], 9)
    shards.owns("discord:81384788765712384")   # this process posts for that server?
    shards.share                                 # 1/3 of the servers: 1/3 of the rate limit

The rule lives here, transport-free, so the daily-post runner (bot.schedule) can filter with it
and the Discord transport can connect the same shards; nothing here imports discord.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DISCORD_PREFIX = "discord:"
# Values of `shard_ids` that mean "every shard" (the default): `paperboy@all` / `paperboy@main`,
# the one-process instance names of deploy/paperboy@.service.
EVERY = ("all", "main")
# Matched against the stripped item: no leading `\s*`, which a search over a long run of spaces
# would retry from every position (quadratic).
_ITEM = re.compile(r"(\d+)(?:\s*-\s*(\d+))?")


def item_problem(text: str) -> str | None:
    """What is wrong with one `shard_ids` item ("3", "0-3", "all"), or None."""
    if text.strip().lower() in EVERY:
        return None
    match = _ITEM.fullmatch(text.strip())
    if match is None:
        return "is not a shard id or a range like 0-3"
    first, last = match.group(1), match.group(2)
    if last is not None and int(last) < int(first):
        return f"is not a range: {first} is after {last}"
    return None


def parse_ids(items: Iterable[str]) -> frozenset[int] | None:
    """The shard ids that items like ["0-3", "7"] or ["0", "1"] name; None for every shard (no
    item, or "all"). ValueError names the item that is wrong or listed twice."""
    items = [i for i in items if i.strip()]
    if not items or any(i.strip().lower() in EVERY for i in items):
        if len(items) > 1:
            raise ValueError(f"{', '.join(repr(i) for i in items)}: \"all\" cannot be combined with shard ids")
        return None
    ids: set[int] = set()
    for item in items:
        problem = item_problem(item)
        if problem is not None:
            raise ValueError(f"{item!r} {problem}")
        match = _ITEM.fullmatch(item.strip())
        assert match is not None
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        twice = ids.intersection(range(first, last + 1))
        if twice:
            raise ValueError(f"{item!r} lists shard {min(twice)} again")
        ids.update(range(first, last + 1))
    return frozenset(ids)


def shard_of(guild_id: int, count: int) -> int:
    """Discord's rule: the shard a server's events arrive on."""
    return (guild_id >> 22) % count


def spelled(ids: Iterable[int]) -> str:
    """Shard ids as ranges: {0, 1, 2, 5} -> "0-2,5"."""
    runs: list[list[int]] = []
    for i in sorted(ids):
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


@dataclass(frozen=True, slots=True)
class ShardSet:
    """The shards one process runs: `ids` of `count` (None, None: every shard, in this one
    process; None ids of a known count: every shard of that count)."""

    ids: frozenset[int] | None = None
    count: int | None = None

    def __post_init__(self) -> None:
        if self.count is not None and self.count < 1:
            raise ValueError(f"the shard count must be at least 1, not {self.count}")
        if self.ids is not None:
            if self.count is None:
                raise ValueError("shard ids need the shard count (the number of shards over all processes)")
            if not self.ids:
                raise ValueError("a process runs at least one shard")
            outside = sorted(i for i in self.ids if i >= self.count)
            if outside:
                raise ValueError(f"shard {outside[0]} is not below the shard count {self.count} "
                                 f"(shards are numbered 0 to {self.count - 1})")

    @classmethod
    def parse(cls, items: Sequence[str], count: int) -> ShardSet:
        """From the settings: `items` like ["0-2"] and `count` (0: unset, Discord's recommendation).
        ValueError with a short message naming what is wrong."""
        return cls(parse_ids(items), count or None)

    @property
    def every(self) -> bool:
        """True when this process runs every shard (the one-process default)."""
        return self.ids is None

    @property
    def share(self) -> float:
        """The fraction of all servers this process serves (1.0 for every shard)."""
        if self.ids is None or self.count is None:
            return 1.0
        return len(self.ids) / self.count

    @property
    def registers_commands(self) -> bool:
        """True for the one process that registers the slash commands: the one holding shard 0."""
        return self.ids is None or 0 in self.ids

    def owns(self, guild_id: str) -> bool:
        """Whether this process serves the server `guild_id` ("discord:123"). Ids of other
        platforms (the console's) are not sharded: every process may serve them."""
        if self.ids is None or self.count is None:
            return True
        if not guild_id.startswith(DISCORD_PREFIX):
            return True
        raw = guild_id[len(DISCORD_PREFIX):]
        if not raw.isdigit():
            return True
        return shard_of(int(raw), self.count) in self.ids

    @property
    def label(self) -> str | None:
        """How `paperboy status` names them ("0-3 of 8"); None for every shard."""
        return None if self.ids is None else f"{spelled(self.ids)} of {self.count}"

    def __str__(self) -> str:
        if self.ids is None:
            return "every shard" + (f" of {self.count}" if self.count else "")
        return f"shards {spelled(self.ids)} of {self.count}"


EVERY_SHARD = ShardSet()
