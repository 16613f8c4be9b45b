"""bot/arrays.py: the numpy steps the title index and the summary's phrase counting share."""

from __future__ import annotations

import numpy as np

from bot.arrays import contained, kth_largest, run_starts


def test_run_starts_marks_each_run_of_equal_neighbours() -> None:
    assert run_starts(np.array([3, 3, 5, 7, 7, 7, 3])).tolist() == [0, 2, 3, 6]
    assert run_starts(np.array([9])).tolist() == [0]
    assert run_starts(np.zeros(0, dtype=np.int64)).tolist() == []


def test_contained_finds_values_in_a_sorted_array_at_either_end_and_past_it() -> None:
    held = np.array([2, 5, 9], dtype=np.uint32)
    asked = np.array([1, 2, 5, 6, 9, 10], dtype=np.uint32)
    assert contained(held, asked).tolist() == [False, True, True, False, True, False]
    assert contained(np.zeros(0, dtype=np.uint32), asked).tolist() == [False] * 6


def test_kth_largest_counts_ties() -> None:
    values = np.array([1.0, 4.0, 4.0, 2.0, 8.0])
    assert [kth_largest(values, k) for k in (1, 2, 3, 4, 5)] == [8.0, 4.0, 4.0, 2.0, 1.0]
