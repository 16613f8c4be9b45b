"""ShardSet: which servers a process serves, Discord's (id >> 22) % count rule, the ranges
`shard_ids` accepts, and the share of the rate limit a process gets."""

from __future__ import annotations

import pytest

from bot.chat.shards import EVERY_SHARD, ShardSet, item_problem, parse_ids, shard_of, spelled


@pytest.mark.parametrize(("items", "ids"), [
    ([], None), (["all"], None), (["main"], None), ([" ALL "], None), (["", " "], None),
    (["0-3"], {0, 1, 2, 3}), (["5"], {5}), (["0", "1", "2"], {0, 1, 2}), (["0-1", "7", "3 - 4"], {0, 1, 3, 4, 7}),
])
def test_ids_and_ranges_are_read(items: list[str], ids: set[int] | None) -> None:
    assert parse_ids(items) == (None if ids is None else frozenset(ids))


@pytest.mark.parametrize(("items", "message"), [
    (["3-1"], "'3-1' is not a range: 3 is after 1"),
    (["x"], "'x' is not a shard id or a range like 0-3"),
    (["-1"], "'-1' is not a shard id"),
    (["1.5"], "'1.5' is not a shard id"),
    (["0-3", "2"], "'2' lists shard 2 again"),
    (["all", "1"], '"all" cannot be combined with shard ids'),
])
def test_bad_items_are_named(items: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse_ids(items)
    assert any(item_problem(i) for i in items) or "again" in message or "combined" in message


@pytest.mark.parametrize(("ids", "count", "message"), [
    ({0, 9}, 9, "shard 9 is not below the shard count 9"),
    ({0}, None, "shard ids need the shard count"),
    (set(), 4, "at least one shard"),
    (None, 0, "at least 1"),
])
def test_impossible_sets_are_refused(ids: set[int] | None, count: int | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ShardSet(None if ids is None else frozenset(ids), count)


def test_owns_follows_discords_rule() -> None:
    shards = ShardSet.parse(["1-2"], 4)
    for shard in range(4):
        guild = (123 << 22) * 4 + (shard << 22) + 99  # (id >> 22) % 4 == shard
        assert shard_of(guild, 4) == shard
        assert shards.owns(f"discord:{guild}") is (shard in (1, 2))
    # Real ids: Discord's own example server id sits on shard (id >> 22) % count.
    assert shard_of(81384788765712384, 8) == (81384788765712384 >> 22) % 8


def test_ids_of_other_platforms_and_every_shard_are_owned() -> None:
    shards = ShardSet.parse(["3"], 4)
    assert shards.owns("console:lab") and shards.owns("discord:not-a-number")
    assert EVERY_SHARD.owns("discord:4194304") and ShardSet.parse([], 0) == EVERY_SHARD
    assert ShardSet.parse(["all"], 8).every and ShardSet.parse([], 8).owns("discord:1")


def test_share_and_who_registers_commands() -> None:
    assert ShardSet.parse(["0-2"], 9).share == pytest.approx(1 / 3)
    assert EVERY_SHARD.share == 1.0 and ShardSet.parse([], 8).share == 1.0
    assert [ShardSet.parse([r], 9).registers_commands for r in ("0-2", "3-5", "6-8")] == [True, False, False]
    assert EVERY_SHARD.registers_commands


def test_shown_as_ranges() -> None:
    assert spelled({0, 1, 2, 5, 7, 8}) == "0-2,5,7-8"
    assert str(ShardSet.parse(["3-5"], 9)) == "shards 3-5 of 9" and str(EVERY_SHARD) == "every shard"
