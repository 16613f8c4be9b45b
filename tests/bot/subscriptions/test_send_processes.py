"""Notifications from several processes sharing one database (#16): a process SIGKILLed in the
middle of its delivery leaves rows 'sending'; another process leaves them alone while the first
lives (it is sending them) and finishes them once it is dead: lost 0, duplicated 0.

The doomed sender is a real process (holds end when a process dies, on SQLite with its record
locks, on PostgreSQL with its session). Every request either process makes is written to a ledger
file; like Discord with a message nonce, a request carrying a key already seen makes no new message.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from bot.chat.outbound import Sent
from bot.chat.replies import Reply
from bot.subscriptions import service
from bot.subscriptions.send import NotificationSender, notification_key
from storage import notifications as notification_repo
from storage.db import Database, now_utc
from tests.bot.subscriptions.helpers import SETTINGS, load

pytestmark = pytest.mark.both_backends

USERS = 30
SENT_BEFORE_HANGING = 10

CHILD = textwrap.dedent("""
    import asyncio, sys
    from bot.chat.outbound import Sent
    from bot.config import SubscriptionSettings
    from bot.subscriptions.send import NotificationSender
    from storage.backends import open_database
    from storage.db import Database

    address, ledger, sent_before_hanging = sys.argv[1], sys.argv[2], int(sys.argv[3])

    class Ledger:
        sent = 0

        async def send_direct(self, user_id, reply, *, key=None):
            with open(ledger, "a") as f:
                f.write(f"child {key}\\n")  # the request reached Discord...
            self.sent += 1
            if self.sent > sent_before_hanging:
                print("hanging", flush=True)
                await asyncio.Event().wait()  # ...and the answer never comes back
            return Sent(user_id, f"m-{key}")

    async def main():
        db = await open_database(address)
        await NotificationSender(db, Ledger(), SubscriptionSettings(concurrency=3)).send_pending()

    asyncio.run(main())
""")


class LedgerOutbound:
    """This process's sends, in the same ledger."""

    def __init__(self, ledger: Path) -> None:
        self.ledger = ledger

    async def send_direct(self, user_id: str, reply: Reply, *, key: str | None = None) -> Sent:
        with self.ledger.open("a") as f:
            f.write(f"parent {key}\n")
        return Sent(user_id, f"m-{key}")


def requests(ledger: Path) -> list[tuple[str, str]]:
    return [(who, key) for who, key in (line.split() for line in ledger.read_text().splitlines())]


async def test_a_killed_sender_is_finished_by_another_process_and_a_live_one_left_alone(
        db_address: str, db: Database, tmp_path: Path) -> None:
    for i in range(USERS):
        await service.subscribe(db, SETTINGS, f"console:u{i:02}", "decoding")
    await load(db)
    ids = [n.id for n in await notification_repo.list_notifications(db)]
    assert len(ids) == USERS
    ledger = tmp_path / "ledger"
    ledger.touch()
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, db_address, str(ledger), str(SENT_BEFORE_HANGING),
        stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        assert child.stdout is not None
        assert (await asyncio.wait_for(child.stdout.readline(), 60)).decode().strip() == "hanging"
        sending = {n.id for n in await notification_repo.notifications_in_status(db, ["sending"])}
        assert sending
        # The other process, an hour later (past the re-send window: a dead process's rows would
        # become 'unknown'): the live sender's rows are its own, neither settled nor sent again.
        outbound = LedgerOutbound(ledger)
        late = NotificationSender(db, outbound, SETTINGS, clock=lambda: now_utc() + dt.timedelta(hours=1))  # type: ignore[arg-type]
        assert await late.recover() == []
        assert await late.send_pending() == []  # the pending rows are the live process's round
        # Only the live sender moves its rows on ('sent' as its results are written), never to 'unknown'.
        assert {n.id for n in await notification_repo.notifications_in_status(db, ["sending"])} <= sending
        assert not await notification_repo.notifications_in_status(db, ["unknown", "failed"])
        assert all(who == "child" for who, _ in requests(ledger))

        in_hand = {notification_key(n.id) for n in await notification_repo.notifications_in_status(db, ["sending"])}
        child.send_signal(signal.SIGKILL)
        await child.wait()
        now = NotificationSender(db, outbound, SETTINGS)  # type: ignore[arg-type]
        for _ in range(200):  # PostgreSQL notices the closed socket at once; allow it a moment
            await now.recover()
            if not await notification_repo.notifications_in_status(db, ["sending"]):
                break
            await asyncio.sleep(0.05)
        await now.send_pending()
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()

    assert {n.status for n in await notification_repo.list_notifications(db)} == {"sent"}
    made = requests(ledger)
    by_whom = {who: Counter(key for w, key in made if w == who) for who in ("child", "parent")}
    keys = {notification_key(i) for i in ids}
    assert {key for _, key in made} == keys  # lost 0: every notification reached Discord
    assert all(n == 1 for counts in by_whom.values() for n in counts.values())
    # Asked for by both: only rows the killed process had in hand ('sending': in flight, or sent
    # before its 'sent' was written), re-sent with their key, so one message each; duplicated 0.
    twice = set(by_whom["child"]) & set(by_whom["parent"])
    assert twice and twice <= in_hand
    assert len(by_whom["child"]) > SENT_BEFORE_HANGING  # it died with requests in flight
