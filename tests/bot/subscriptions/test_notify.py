"""Queueing for a digest: one notification per user per digest, grouped, deduplicated; a marker in
the load's transaction, queued after its commit in batches that a restart resumes exactly once."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest

from bot.subscriptions import notify, service
from bot.subscriptions.notify import NotificationQueue, notification_hook
from bot.subscriptions.send import NotificationSender
from storage import notifications as notification_repo
from storage import pending_matches as match_repo
from storage.db import Database
from storage.loader import Loader
from storage.records import PaperRecord
from tests.bot.schedule.fakes import Crash
from tests.bot.subscriptions.helpers import DAY, NOW, PAPERS, SETTINGS, Outbox, digest, load, loader, titles_in

pytestmark = pytest.mark.both_backends



async def follow(db: Database, user: str, *topics: str) -> None:
    for t in topics:
        await service.subscribe(db, SETTINGS, user, t)


async def test_one_notification_per_user_grouped_by_topic(db: Database) -> None:
    await follow(db, "console:alice", "speculative decoding", "kv cache -vision", "decoding")
    await follow(db, "console:bob", "gaussian splatting")
    await follow(db, "console:carol", "protein folding")
    await load(db)
    rows = await notification_repo.list_notifications(db)
    assert sorted(d.user_id for d in rows) == ["console:alice", "console:bob"]
    alice = next(d for d in rows if d.user_id == "console:alice")
    assert alice.status == "pending" and alice.digest_date == DAY
    # digest order; a paper matched by two topics is listed once, under both
    assert [p.title for p in alice.papers] == [PAPERS[0].title, PAPERS[2].title, PAPERS[4].title]
    first = alice.papers[0]
    assert first.topics == ("decoding speculative", "decoding")  # canonical keys, in subscription order
    assert first.terms == ("decoding", "speculative")
    outbox = Outbox()
    await NotificationSender(db, outbox, SETTINGS, clock=lambda: NOW).send_pending()
    shown = {user: titles_in(reply) for user, reply in outbox.direct}
    assert "Compressing the KV Cache" in shown["console:alice"]
    assert "Vision Transformers" not in shown["console:alice"]  # excluded by -vision
    assert "matched: decoding, speculative" in shown["console:alice"]
    names = [f.name for f in outbox.direct[0][1].cards[0].fields]
    assert names == ["speculative decoding", "kv cache -vision", "decoding"]


async def test_loading_the_same_digest_again_or_a_corrected_copy_never_repeats_a_paper(db: Database) -> None:
    await follow(db, "console:alice", "decoding")
    await load(db)
    await load(db)  # identical: unchanged
    corrected = [dataclasses.replace(p, abstract=p.abstract + " Revised.") for p in PAPERS]
    corrected.append(PaperRecord("Parallel Decoding at Scale", "Decoding many tokens at once.", "2501.00006"))
    await load(db, corrected)
    rows = await notification_repo.list_notifications(db)
    assert sorted(tuple(p.title for p in d.papers) for d in rows) == [
        ("Parallel Decoding at Scale",), (PAPERS[0].title, PAPERS[4].title)]
    # the same paper in another digest later: still told once
    await loader(db, NOW + dt.timedelta(days=1)).load(digest(corrected, DAY + dt.timedelta(days=1), source="arxiv-rss"))
    assert len(await notification_repo.list_notifications(db)) == 2


@pytest.mark.parametrize("fmt", ["arxiv-snapshot", "paperboy-jsonl"])
async def test_bulk_archive_loads_notify_nobody(db: Database, fmt: str) -> None:
    await follow(db, "console:alice", "decoding")
    await loader(db).load(digest(PAPERS, source=fmt, fmt=fmt, complete=False))
    assert await notification_repo.list_notifications(db) == []


async def test_old_digests_notify_nobody(db: Database) -> None:
    await follow(db, "console:alice", "decoding")
    await loader(db).load(digest(PAPERS, DAY - dt.timedelta(days=SETTINGS.max_digest_age_days + 1)))
    assert await notification_repo.list_notifications(db) == []


async def test_paused_users_get_nothing_until_resumed(db: Database) -> None:
    await follow(db, "console:alice", "decoding")
    await service.set_preferences(db, "console:alice", paused=True)
    await load(db, PAPERS[:1])
    assert await notification_repo.list_notifications(db) == []
    await service.set_preferences(db, "console:alice", paused=False)
    assert await notification_repo.list_notifications(db) == []  # resuming does not replay what loaded while paused
    await load(db, PAPERS[4:], day=DAY + dt.timedelta(days=1))
    [only] = await notification_repo.list_notifications(db)
    assert [p.title for p in only.papers] == [PAPERS[4].title]


async def test_a_failed_load_queues_nothing(db: Database) -> None:
    await follow(db, "console:alice", "decoding")

    async def boom(conn: object, result: object) -> None:
        raise RuntimeError("disk trouble after the hook")

    with pytest.raises(RuntimeError):
        await Loader(db, after_load=[*loader(db).after_load, boom]).load(digest(PAPERS))
    assert await notification_repo.list_notifications(db) == []
    await load(db)  # the retried load notifies, once
    assert len(await notification_repo.list_notifications(db)) == 1


async def test_a_crash_before_sending_resumes_and_after_sending_never_repeats(db: Database) -> None:
    await follow(db, "console:alice", "decoding")
    await follow(db, "console:bob", "gaussian")
    await load(db)
    # crash after alice's message went out but before the log said so
    outbox = Outbox(crash_after_direct=True)
    sender = NotificationSender(db, outbox, SETTINGS, clock=lambda: NOW)
    with pytest.raises(Crash):
        await sender.send_pending()
    statuses = {d.user_id: d.status for d in await notification_repo.list_notifications(db)}
    # The other row: not started, started, or sent and recorded (a round writes the results of the
    # sends that finished even when another send raises).
    assert sorted(statuses.values()) in (["pending", "sending"], ["sending", "sending"], ["sending", "sent"])
    # The "dead" process's other task still runs here (a real crash would stop it): let it finish
    # its send and the round's batched write, so the restart below sees one settled state.
    await asyncio.sleep(0.3)
    # restart: recovery settles the in-doubt row without sending it again, then pending ones go out
    restarted = NotificationSender(db, outbox, SETTINGS, clock=lambda: NOW + dt.timedelta(minutes=5))
    settled = await restarted.recover()
    await restarted.send_pending()
    final = {d.user_id: d for d in await notification_repo.list_notifications(db)}
    sent_to = [u for u, _ in outbox.direct]
    assert sorted(sent_to) == ["console:alice", "console:bob"]  # each exactly once
    in_doubt = [d for d in settled if d.status == "unknown"]
    assert [d.user_id for d in in_doubt] == [sent_to[0]]
    assert "may or may not have arrived" in (final[sent_to[0]].reason or "")
    assert final[sent_to[1]].status == "sent"


def marking_loader(db: Database) -> Loader:
    """A loader whose loads only mark their digest (as one killed right after its commit)."""
    return Loader(db, after_load=[notification_hook(SETTINGS, clock=lambda: NOW)])


async def per_user(db: Database) -> dict[str, list[str]]:
    """user -> the titles of each notification they got, in order."""
    found: dict[str, list[str]] = {}
    for d in sorted(await notification_repo.list_notifications(db), key=lambda d: d.id):
        found.setdefault(d.user_id, []).append(", ".join(p.title for p in d.papers))
    return found


async def test_the_load_only_marks_the_digest_and_matching_runs_after_its_commit(db: Database) -> None:
    await follow(db, "console:alice", "decoding")
    result = await marking_loader(db).load(digest(PAPERS))
    [pending] = await match_repo.pending(db)
    assert pending.digest_id == result.digest_id and await notification_repo.list_notifications(db) == []
    assert len(await NotificationQueue(db, clock=lambda: NOW).drain()) == 1
    assert await match_repo.pending(db) == []
    assert await per_user(db) == {"console:alice": [f"{PAPERS[0].title}, {PAPERS[4].title}"]}


async def test_a_stop_between_batches_is_resumed_and_nobody_is_queued_twice(db: Database,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    users = [f"console:u{i}" for i in range(5)]
    for user in users:
        await follow(db, user, "decoding")
    await marking_loader(db).load(digest(PAPERS))
    queue = notification_repo.queue
    calls = 0

    async def dies_in_the_third_batch(*args: object, **kw: object) -> list[int]:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise Crash()
        return await queue(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(notification_repo, "queue", dies_in_the_third_batch)
    first = NotificationQueue(db, clock=lambda: NOW, batch_rows=1)  # one user per transaction
    [pending] = await match_repo.pending(db)
    with pytest.raises(Crash):
        await first.queue(pending)
    monkeypatch.setattr(notification_repo, "queue", queue)
    assert sorted(await per_user(db)) == users[:2]  # two batches committed, the third rolled back
    [pending] = await match_repo.pending(db)
    assert pending.done_through == users[1]
    await NotificationQueue(db, clock=lambda: NOW, batch_rows=1).drain()  # the restarted process
    assert await per_user(db) == {u: [f"{PAPERS[0].title}, {PAPERS[4].title}"] for u in users}
    assert await match_repo.pending(db) == []


async def test_a_batch_run_again_after_it_committed_queues_nothing(db: Database) -> None:
    await follow(db, "console:alice", "decoding")
    await follow(db, "console:bob", "gaussian")
    result = await loader(db).load(digest(PAPERS))
    before = await per_user(db)
    async with db.atomic() as tx:  # the same digest's marker again, from the start
        await match_repo.add(tx, result.digest_id, result.paper_ids)
    assert await NotificationQueue(db, clock=lambda: NOW, batch_rows=1).drain() == []
    assert await per_user(db) == before and await match_repo.pending(db) == []


async def test_two_processes_resuming_one_digest_queue_each_user_once(db: Database) -> None:
    users = [f"console:u{i}" for i in range(6)]
    for user in users:
        await follow(db, user, "decoding")
    await marking_loader(db).load(digest(PAPERS))
    await asyncio.gather(*(NotificationQueue(db, clock=lambda: NOW, batch_rows=1).drain() for _ in range(2)))
    assert await per_user(db) == {u: [f"{PAPERS[0].title}, {PAPERS[4].title}"] for u in users}
    assert await match_repo.pending(db) == []


async def test_a_digest_that_fails_to_match_stays_pending_and_the_next_goes_ahead(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await follow(db, "console:alice", "decoding")
    broken = await marking_loader(db).load(digest(PAPERS[:1]))
    await marking_loader(db).load(digest(PAPERS[4:], DAY + dt.timedelta(days=1)))
    fan_out = notify.fan_out

    async def fails_for_the_first(conn: object, digest_id: int, paper_ids: object) -> notify.Fanout:
        if digest_id == broken.digest_id:
            raise RuntimeError("a bug in matching")
        return await fan_out(conn, digest_id, paper_ids)  # type: ignore[arg-type]

    monkeypatch.setattr(notify, "fan_out", fails_for_the_first)
    await NotificationQueue(db, clock=lambda: NOW).drain()
    assert await per_user(db) == {"console:alice": [PAPERS[4].title]}
    assert [p.digest_id for p in await match_repo.pending(db)] == [broken.digest_id]
    monkeypatch.setattr(notify, "fan_out", fan_out)
    await NotificationQueue(db, clock=lambda: NOW).drain()  # the next round
    assert await per_user(db) == {"console:alice": [PAPERS[4].title, PAPERS[0].title]}
