"""Holds on posts (storage.posts.hold_posts) across processes sharing one database: a post is in
one process's hands at a time, and a process that dies lets go of its posts. On both backends:
session advisory locks on PostgreSQL, record locks on `<database>.holds` on SQLite."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap

import pytest

from storage import posts
from storage.backends import open_database
from storage.db import Database
from storage.postgres.db import PostgresDatabase

pytestmark = pytest.mark.both_backends


async def test_a_post_held_is_held_once_until_released(db: Database) -> None:
    assert await posts.hold_posts(db, [1, 2, 3]) == {1, 2, 3}
    assert await posts.hold_posts(db, [3, 4]) == {4}  # another task of this process has 3
    await posts.release_posts(db, [3, 5])
    assert await posts.hold_posts(db, [2, 3]) == {3}
    async with db.atomic() as view:  # a view inside a transaction holds for the same process
        assert await posts.hold_posts(view, [3, 6]) == {6}
    await posts.release_posts(db, [1, 2, 3, 4, 6])
    assert await posts.hold_posts(db, [1, 4]) == {1, 4}


async def test_two_handles_never_hold_the_same_post(db_address: str, db: Database) -> None:
    async with await open_database(db_address) as other:
        first, second = await asyncio.gather(posts.hold_posts(db, list(range(1, 101))),
                                             posts.hold_posts(other, list(range(100, 0, -1))))
        assert first | second == set(range(1, 101)) and not first & second
        await posts.release_posts(db, list(first))
        assert await posts.hold_posts(other, list(range(1, 101))) == first


async def test_a_killed_process_lets_go_of_its_posts(db_address: str, db: Database) -> None:
    script = textwrap.dedent(f"""
        import asyncio
        from storage import posts
        from storage.backends import open_database
        from storage.db import Database

        async def main():
            db = await open_database({db_address!r})
            print(sorted(await posts.hold_posts(db, [7, 8])), flush=True)
            await asyncio.sleep(600)

        asyncio.run(main())
    """)
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE,
                                                 env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert child.stdout is not None
        assert (await child.stdout.readline()).decode().strip() == "[7, 8]"
        assert await posts.hold_posts(db, [7, 8, 9]) == {9}  # the other process is working on 7 and 8
        child.send_signal(signal.SIGKILL)
        await child.wait()
        taken: set[int] = set()
        for _ in range(200):  # PostgreSQL notices the closed socket at once; allow it a moment
            taken |= await posts.hold_posts(db, [7, 8])
            if taken == {7, 8}:
                break
            await asyncio.sleep(0.05)
        assert taken == {7, 8}
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()


async def test_holds_end_when_the_database_is_closed(db_address: str, db: Database) -> None:
    other = await open_database(db_address)
    assert await posts.hold_posts(other, [5]) == {5}
    await other.close()
    assert await posts.hold_posts(db, [5]) == {5}


async def test_holds_go_on_after_the_session_is_cut(pg_url: str) -> None:
    """PostgreSQL only: a SQLite process has no session to lose."""
    async with await PostgresDatabase.connect(pg_url) as db, await PostgresDatabase.connect(pg_url) as other:
        assert await posts.hold_posts(db, [1]) == {1}
        # The server restarted, or an operator ended the session: its holds are gone with it.
        await other.execute("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                            " AND pid <> pg_backend_pid()")
        assert await posts.hold_posts(other, [1]) == {1}
        assert await posts.hold_posts(db, [2]) == {2}  # a new session
        assert await posts.hold_posts(other, [2]) == set()
        await posts.release_posts(db, [1, 2])  # 1 is no longer this process's: only 2 is let go
        assert await posts.hold_posts(other, [2]) == {2}


async def test_notifications_are_held_apart_from_posts(db_address: str, db: Database) -> None:
    """The notification log's holds (storage.notifications.hold_notifications): the same rules, and
    a notification's id never collides with a post's."""
    from storage import notifications

    assert await posts.hold_posts(db, [1]) == {1}
    assert await notifications.hold_notifications(db, [1, 2]) == {1, 2}
    async with await open_database(db_address) as other:
        assert await notifications.hold_notifications(other, [2, 3]) == {3}
        await notifications.release_notifications(db, [2])
        assert await notifications.hold_notifications(other, [2]) == {2}
