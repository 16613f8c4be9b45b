"""ProcessTuning: the 1 ms GIL switch interval and the frozen heap of a serving process, undone
after (tests run many apps in one interpreter)."""

from __future__ import annotations

import gc
import sys

from bot.processes.tuning import SWITCH_INTERVAL, ProcessTuning


def test_tuning_applies_once_and_restores_what_the_process_had() -> None:
    before = sys.getswitchinterval()
    frozen = gc.get_freeze_count()
    tuning = ProcessTuning()
    with tuning:
        assert sys.getswitchinterval() == SWITCH_INTERVAL != before
        tuning.apply()  # a second apply must not record our interval as the process's own
        assert gc.get_freeze_count() >= frozen
    assert sys.getswitchinterval() == before
    tuning.restore()  # idempotent
    assert sys.getswitchinterval() == before and gc.get_freeze_count() == 0
