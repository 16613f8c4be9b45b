"""Holds on posts across processes sharing one PostgreSQL database (storage.posts.hold_posts):
a post is in one process's hands at a time, and a process that dies lets go of its posts."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap

from storage import posts
from storage.postgres.db import PostgresDatabase


async def test_two_processes_never_hold_the_same_post(pg_url: str) -> None:
    async with await PostgresDatabase.connect(pg_url) as one, await PostgresDatabase.connect(pg_url) as two:
        first, second = await asyncio.gather(posts.hold_posts(one, list(range(1, 101))),
                                             posts.hold_posts(two, list(range(100, 0, -1))))
        assert first | second == set(range(1, 101)) and not first & second
        await posts.release_posts(one, list(first))
        assert await posts.hold_posts(two, list(range(1, 101))) == first
        # A view inside a transaction holds for the same process.
        async with one.atomic() as view:
            assert await posts.hold_posts(view, [3]) == set()


async def test_a_killed_process_lets_go_of_its_posts(pg_url: str) -> None:
    script = textwrap.dedent(f"""
        import asyncio, sys
        from storage import posts
        from storage.postgres.db import PostgresDatabase

        async def main():
            db = await PostgresDatabase.connect({pg_url!r})
            print(sorted(await posts.hold_posts(db, [7, 8])), flush=True)
            await asyncio.sleep(600)

        asyncio.run(main())
    """)
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE,
                                                 env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert child.stdout is not None
        assert (await child.stdout.readline()).decode().strip() == "[7, 8]"
        async with await PostgresDatabase.connect(pg_url) as survivor:
            assert await posts.hold_posts(survivor, [7, 8, 9]) == {9}  # the other process is working on 7, 8
            child.send_signal(signal.SIGKILL)
            await child.wait()
            taken: set[int] = set()
            for _ in range(200):  # the server notices the closed socket at once; allow it a moment
                taken |= await posts.hold_posts(survivor, [7, 8])
                if taken == {7, 8}:
                    break
                await asyncio.sleep(0.05)
            assert taken == {7, 8}
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()


async def test_holds_go_on_after_the_session_is_cut(pg_url: str) -> None:
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


async def test_holds_are_released_when_the_database_closes(pg_url: str) -> None:
    db = await PostgresDatabase.connect(pg_url)
    assert await posts.hold_posts(db, [5]) == {5}
    await db.close()
    async with await PostgresDatabase.connect(pg_url) as other:
        assert await posts.hold_posts(other, [5]) == {5}

