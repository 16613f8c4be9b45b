"""An inbox folder: digest files dropped there are loaded like `paperboy ingest FILE`, then moved
to `processed/`, or to `failed/` with the error beside them in `NAME.error.txt`.

A file is picked up once it has not changed for `settle_s` seconds, so one still being copied in
is left for the next poll. Hidden files and names ending in .part, .tmp or .crdownload are ignored.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.ingest.load import IngestOptions, IngestOutcome, ingest
from storage.loader import Loader
from storage.records import LoadResult

log = logging.getLogger(__name__)

_UNFINISHED = (".part", ".tmp", ".crdownload", ".error.txt")


@dataclass(slots=True)
class InboxFile:
    """What happened to one dropped file."""

    name: str
    moved_to: str
    outcome: IngestOutcome
    results: list[LoadResult] = field(default_factory=list)


def _free_name(folder: Path, name: str) -> Path:
    """`folder/name`, or `folder/stem-2.ext`, … when a file of that name was processed before."""
    target = folder / name
    stem, suffix = os.path.splitext(name)
    n = 1
    while target.exists():
        n += 1
        target = folder / f"{stem}-{n}{suffix}"
    return target


@dataclass(slots=True)
class Inbox:
    folder: Path
    options: IngestOptions = field(default_factory=IngestOptions)
    settle_s: float = 5.0
    clock: Callable[[], float] = time.time  # wall clock, compared with file modification times
    name: str = "inbox"

    def waiting(self) -> list[Path]:
        """Files ready to load, oldest first."""
        self.folder.mkdir(parents=True, exist_ok=True)
        cutoff = self.clock() - self.settle_s
        ready = []
        for entry in self.folder.iterdir():
            if entry.name.startswith(".") or entry.name.endswith(_UNFINISHED) or not entry.is_file():
                continue
            stat = entry.stat()
            if stat.st_mtime <= cutoff:
                ready.append((stat.st_mtime, entry.name, entry))
        return [entry for _, _, entry in sorted(ready)]

    async def process(self, loader: Loader, today: dt.date | None = None) -> list[InboxFile]:
        """Load every waiting file and move it out of the inbox."""
        done = []
        for path in self.waiting():
            found: list[LoadResult] = []

            async def keep(conn: object, result: LoadResult, found: list[LoadResult] = found) -> None:
                found.append(result)

            recording = Loader(loader.db, after_load=[*loader.after_load, keep], after_commit=loader.after_commit)
            options = replace(self.options, today=today or self.options.today)
            outcome = await ingest(recording, str(path), options)
            folder = self.folder / ("processed" if outcome.ok else "failed")
            folder.mkdir(exist_ok=True)
            target = _free_name(folder, path.name)
            path.rename(target)
            if not outcome.ok:
                target.with_name(target.name + ".error.txt").write_text((outcome.error or "") + "\n",
                                                                       encoding="utf-8")
                log.warning("inbox: %s", outcome.error)
            done.append(InboxFile(path.name, str(target), outcome, found))
        return done
