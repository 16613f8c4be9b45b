"""The sharded-posting bench's shard split: contiguous ranges, as even as they go, covering every shard."""

from __future__ import annotations

import pytest

from bench.sharded_posting import ranges
from bot.chat.shards import parse_ids


@pytest.mark.parametrize(("processes", "shards", "expected"), [
    (3, 9, ["0-2", "3-5", "6-8"]), (1, 4, ["0-3"]), (2, 5, ["0-2", "3-4"]), (4, 4, ["0", "1", "2", "3"]),
])
def test_ranges_cover_every_shard_once(processes: int, shards: int, expected: list[str]) -> None:
    split = ranges(processes, shards)
    assert split == expected
    covered = [i for r in split for i in sorted(parse_ids([r]) or ())]
    assert covered == list(range(shards))
