"""An inbox folder: digest files dropped there are loaded like `paperboy ingest FILE`, then moved
to `processed/`, or to `failed/` with the error beside them in `NAME.error.txt`.

A file is picked up once it has not changed for `settle_s` seconds, so one still being copied in
is left for the next poll. Hidden files and names ending in .part, .tmp or .crdownload are ignored.

Several processes may watch one inbox (the bot and a `paperboy fetch inbox`): each claims a file
before loading it by renaming it into `claimed/<its pid>/`, which only one of them can do. A
file another process claimed first is skipped without a word. Files left in the claim folder of
a process that no longer runs (it was killed mid-load) go back into the inbox at the next poll.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import itertools
import logging
import os
import time
from collections.abc import Callable, Iterator
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


CLAIMED = "claimed"


def _names(folder: Path, name: str) -> Iterator[Path]:
    """`folder/name`, then `folder/stem-2.ext`, `folder/stem-3.ext`, …"""
    yield folder / name
    stem, suffix = os.path.splitext(name)
    for n in itertools.count(2):
        yield folder / f"{stem}-{n}{suffix}"


def _move_to_free_name(path: Path, folder: Path, name: str) -> Path:
    """Move `path` into `folder` as `name`, or `stem-2.ext`, … when that name is taken (a file of
    that name was processed before). A hard link makes taking the name atomic: another process
    moving a file of the same name at the same moment cannot overwrite this one."""
    for target in _names(folder, name):
        try:
            os.link(path, target)
        except FileExistsError:
            continue
        except OSError:  # no hard links here (some network or FAT file systems)
            if target.exists():
                continue
            path.rename(target)
            return target
        path.unlink()
        return target
    raise AssertionError("unreachable")  # _names never ends


def _as_dropped(outcome: IngestOutcome, claimed: str, listed: str) -> IngestOutcome:
    """The outcome said of the file as it was dropped, not of its place in the claim folder."""
    return replace(outcome, input=listed, error=outcome.error and outcome.error.replace(claimed, listed),
                   notes=[n.replace(claimed, listed) for n in outcome.notes])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


@dataclass(slots=True)
class Inbox:
    folder: Path
    options: IngestOptions = field(default_factory=IngestOptions)
    settle_s: float = 5.0
    clock: Callable[[], float] = time.time  # wall clock, compared with file modification times
    name: str = "inbox"
    claimant: int = field(default_factory=os.getpid)  # names this process's claim folder

    @property
    def claims(self) -> Path:
        return self.folder / CLAIMED / str(self.claimant)

    def claim(self, path: Path) -> Path | None:
        """Take `path` for this process: it moves into the claim folder. None when another process
        took it first (it is no longer where it was listed)."""
        self.claims.mkdir(parents=True, exist_ok=True)
        claimed = self.claims / path.name
        try:
            path.rename(claimed)
        except FileNotFoundError:
            log.debug("inbox: %s was claimed by another process", path.name)
            return None
        return claimed

    def release_abandoned(self) -> None:
        """Put back into the inbox the files claimed by processes that no longer run."""
        root = self.folder / CLAIMED
        if not root.is_dir():
            return
        for claims in root.iterdir():
            if not claims.name.isdigit() or int(claims.name) == self.claimant or _alive(int(claims.name)):
                continue
            for path in claims.iterdir():
                try:
                    back = _move_to_free_name(path, self.folder, path.name)
                except FileNotFoundError:
                    continue  # another process put it back first
                log.warning("inbox: %s was claimed by process %s, which ended before loading it; it is back in the "
                            "inbox as %s", path.name, claims.name, back.name)
            with contextlib.suppress(OSError):
                claims.rmdir()

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
        """Load every waiting file this process claims, and move it out of the inbox."""
        self.release_abandoned()
        done = []
        for listed in self.waiting():
            path = self.claim(listed)
            if path is None:
                continue
            found: list[LoadResult] = []

            async def keep(conn: object, result: LoadResult, found: list[LoadResult] = found) -> None:
                found.append(result)

            # A copy, so the caller's loader (its clock, its listeners) loads and only this file's
            # results are kept.
            recording = copy.copy(loader)
            recording.after_load = [*loader.after_load, keep]
            options = replace(self.options, today=today or self.options.today)
            outcome = await ingest(recording, str(path), options)
            outcome = _as_dropped(outcome, str(path), str(listed))
            folder = self.folder / ("processed" if outcome.ok else "failed")
            folder.mkdir(exist_ok=True)
            target = _move_to_free_name(path, folder, path.name)
            if not outcome.ok:
                target.with_name(target.name + ".error.txt").write_text((outcome.error or "") + "\n",
                                                                       encoding="utf-8")
                log.warning("inbox: %s", outcome.error)
            done.append(InboxFile(path.name, str(target), outcome, found))
        with contextlib.suppress(OSError):
            self.claims.rmdir()
        return done
