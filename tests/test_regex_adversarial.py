"""Every regular expression of the code base against strings built to make a backtracking engine blow up.

Issue 21: an `authors` field of "A", thousands of spaces, "B" took seconds, and hours with 20,000
spaces, holding the GIL so the bot's event loop stopped. Every module-level pattern of `bot/` and
`storage/` is run here (search, fullmatch, findall, split) on long runs of each kind of character.
A linear pattern does each in milliseconds; a backtracking one needs minutes. The patterns run in
a child process that the test kills when one pattern is not done within the bound (a correctness
bound, generous enough for a loaded machine, not a benchmark).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LENGTH = 50_000
BOUND_SECONDS = 20.0
FILLERS = [" ", "\t", "\n", ",", ";", ".", "-", "a", "A", "1", "_", "\\", "(", "[", ")", "*", "#", "@", "<", ":",
           "/", "'", "and ", ", and ", " ,", "a ", "1,", "1.", "A. ", "e.g. ", "ab", "1 ", "a.", "x-", "&#"]


def _patterns() -> Iterator[tuple[str, re.Pattern[str] | re.Pattern[bytes]]]:
    for package in ("bot", "storage"):
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
            if info.name.endswith("__main__"):
                continue
            module = importlib.import_module(info.name)
            for name, value in sorted(vars(module).items()):
                values = value if isinstance(value, tuple) else (value,)
                for i, item in enumerate(values):
                    item = item[0] if isinstance(item, tuple) and item else item
                    if isinstance(item, re.Pattern):
                        label = f"{info.name}.{name}" + (f"[{i}]" if len(values) > 1 else "")
                        yield label, item


def _inputs(pattern: re.Pattern[str] | re.Pattern[bytes]) -> Iterator[str | bytes]:
    for filler in FILLERS:
        run = filler * (LENGTH // len(filler))
        for text in ("A" + run + "B", run + "\x00", "arXiv:" + run + "!"):
            yield text.encode() if isinstance(pattern.pattern, bytes) else text


def _exercise(pattern: re.Pattern[str] | re.Pattern[bytes]) -> None:
    for text in _inputs(pattern):
        pattern.search(text)  # type: ignore[arg-type]
        pattern.fullmatch(text)  # type: ignore[arg-type]
        pattern.findall(text)  # type: ignore[arg-type]
        pattern.split(text)  # type: ignore[arg-type]


def _child() -> None:
    seen = set()
    for label, pattern in _patterns():
        if id(pattern) in seen:
            continue
        seen.add(id(pattern))
        print(f"BEGIN {label}", flush=True)
        _exercise(pattern)
        print(f"END {label}", flush=True)
    print("DONE", flush=True)


def test_every_pattern_is_linear_on_adversarial_input() -> None:
    child = subprocess.Popen([sys.executable, __file__], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                             stderr=subprocess.PIPE)
    assert child.stdout is not None
    current = "(start-up)"
    checked = 0
    try:
        deadline = time.monotonic() + BOUND_SECONDS
        while True:
            ready, _, _ = select.select([child.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise AssertionError(f"{current} did not finish within {BOUND_SECONDS:.0f} s on "
                                     f"{LENGTH:,}-character adversarial input: it backtracks")
            line = child.stdout.readline().strip()
            if not line:
                raise AssertionError(f"the probe stopped in {current}: {child.stderr.read() if child.stderr else ''}")
            if line == "DONE":
                break
            kind, _, label = line.partition(" ")
            if kind == "BEGIN":
                current = label
            else:
                checked += 1
            deadline = time.monotonic() + BOUND_SECONDS
    finally:
        child.kill()
        child.communicate()
    assert checked > 40  # the walk found the code base's patterns


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    _child()
