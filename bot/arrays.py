"""Small steps on numpy arrays of sorted ids, shared by the title index (bot/lookup/index.py) and
the summary's phrase counting (bot/summary/themes.py): where runs of equal values begin, which
values a sorted array holds, the k-th largest value. Each is a few calls in C, written once."""

from __future__ import annotations

import numpy as np


def run_starts(values: np.ndarray) -> np.ndarray:
    """Where each run of equal neighbours begins in `values` (ascending positions; none when empty)."""
    if not len(values):
        return np.zeros(0, dtype=np.intp)
    return np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))


def contained(sorted_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each of `values`, whether `sorted_values` (ascending) holds it: a binary search each
    (np.isin hashes, an order of magnitude slower at these sizes)."""
    if not len(sorted_values):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_values, values), len(sorted_values) - 1)
    found: np.ndarray = sorted_values[at] == values
    return found


def kth_largest(values: np.ndarray, k: int) -> float:
    """The k-th largest of `values` (1 <= k <= len(values)): at least k values are that large."""
    return float(np.partition(values, len(values) - k)[len(values) - k])
