"""`Database.atomic`: repository calls made through it share one transaction, on both backends."""

from __future__ import annotations

import pytest

from storage import app_state
from storage.db import Database

pytestmark = pytest.mark.both_backends


class Boom(Exception):
    pass


async def test_calls_in_one_block_commit_together(db: Database) -> None:
    async with db.atomic() as tx:
        await app_state.set_value(tx, "a", "1")
        await app_state.set_value(tx, "b", "2")
        assert await app_state.get_value(tx, "a") == "1"
    assert await app_state.keys_with_prefix(db, "") == ["a", "b"]


async def test_an_exception_rolls_back_every_call_of_the_block(db: Database) -> None:
    await app_state.set_value(db, "kept", "0")
    with pytest.raises(Boom):
        async with db.atomic() as tx:
            await app_state.set_value(tx, "a", "1")
            await app_state.delete_value(tx, "kept")
            raise Boom
    assert await app_state.keys_with_prefix(db, "") == ["kept"]


async def test_a_nested_block_is_a_savepoint(db: Database) -> None:
    async with db.atomic() as tx:
        await app_state.set_value(tx, "outer", "1")
        with pytest.raises(Boom):
            async with tx.atomic() as inner:
                await app_state.set_value(inner, "inner", "2")
                raise Boom
        await app_state.set_value(tx, "after", "3")
    assert await app_state.keys_with_prefix(db, "") == ["after", "outer"]
