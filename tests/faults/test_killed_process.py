"""`paperboy run` killed with SIGKILL in the middle of the daily fan-out and of notification
delivery, then restarted: every channel and every subscriber got exactly one message, and the
logs say so."""

from __future__ import annotations

from pathlib import Path

import pytest

from testkit.faults.scenarios import killed_digest_load, killed_fan_out, killed_notifications, killed_queueing


async def test_a_fan_out_killed_mid_way_ends_with_one_post_per_channel(tmp_path: Path) -> None:
    outcome = await killed_fan_out(tmp_path, servers=120, kill_after=40)
    assert (outcome.lost, outcome.duplicated, outcome.arrived) == (0, 0, 120), outcome
    assert outcome.kills == 1 and "integrity ok" in outcome.detail
    assert outcome.resent >= 1  # the post being made at the kill was sent again, and Discord deduplicated it


async def test_notifications_killed_mid_way_reach_everyone_once(tmp_path: Path) -> None:
    outcome = await killed_notifications(tmp_path, users=80, kill_after=25)
    assert (outcome.lost, outcome.duplicated, outcome.arrived) == (0, 0, 80), outcome
    assert "integrity ok" in outcome.detail and outcome.resent >= 1


async def test_a_digest_load_killed_mid_transaction_completes_once_when_run_again(tmp_path: Path) -> None:
    outcome = await killed_digest_load(tmp_path, papers=6_000, subscribers=10)
    assert outcome.detail.startswith("mid-load: 0 papers visible"), outcome  # all or nothing
    assert (outcome.lost, outcome.duplicated, outcome.arrived) == (0, 0, 6_000), outcome
    assert "10 subscribers notified" in outcome.detail and "integrity ok" in outcome.detail


@pytest.mark.parametrize(("stop_at", "queued"), [(1, 0), (3, 2)])
async def test_a_digest_load_killed_before_its_notifications_are_all_queued_notifies_everyone_once(
        tmp_path: Path, stop_at: int, queued: int) -> None:
    # stop_at 1: killed after the load committed, before matching queued anyone; 3: mid-way
    outcome = await killed_queueing(tmp_path, users=12, stop_at=stop_at)
    assert outcome.detail.startswith(f"stopped before commit {stop_at} after the load: {queued} queued, "
                                     "1 digest awaiting matching"), outcome
    assert (outcome.lost, outcome.duplicated, outcome.arrived) == (0, 0, 12), outcome
    assert "integrity ok" in outcome.detail
