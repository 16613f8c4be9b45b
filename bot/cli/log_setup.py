"""Where the log goes, from `[logging]`: a rotating file (tracebacks included) with short warning
lines on standard error, or standard error only (systemd's journal, containers).

Under systemd (JOURNAL_STREAM set) each stderr line starts with its syslog priority (`<3>`), so
`journalctl -p err` finds errors.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import sys

from bot.config import Settings
from bot.redact import RedactingFormatter

_FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}
STDERR_ONLY = "standard error"


def log_path(settings: Settings) -> str:
    """The log file: `[logging] file`, else paperboy.log beside the database."""
    chosen = settings.logging.file
    if chosen:
        return os.path.abspath(os.path.expanduser(chosen))
    return os.path.join(os.path.dirname(os.path.abspath(settings.db_path)), "paperboy.log")


def setup_logging(settings: Settings, *, verbose: bool) -> str:
    """Install Paperboy's handlers on the root logger (replacing those of an earlier call);
    returns where details go, for "details in ..." messages. `verbose` (-v) logs debug
    details and shows progress on standard error."""
    root = logging.getLogger()
    level = logging.DEBUG if verbose else getattr(logging, settings.logging.level.upper())
    root.setLevel(level)
    for old in [h for h in root.handlers if getattr(h, "_paperboy", False)]:  # a second main() in one process
        root.removeHandler(old)
        old.close()
    if settings.logging.destination == "stderr":
        where = STDERR_ONLY
        handlers = [_stderr(_JournalFormatter("%(levelname)s %(name)s: %(message)s"), level)]
    else:
        where, file_handler = _file_handler(settings)
        handlers = [file_handler, _stderr(_NoTraceback("%(levelname)s: %(message)s"),
                                          logging.INFO if verbose else logging.WARNING)]
    for handler in handlers:
        handler._paperboy = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
    return where


def _file_handler(settings: Settings) -> tuple[str, logging.Handler]:
    path = log_path(settings)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handler: logging.Handler = _LogFile(
            path, maxBytes=settings.logging.max_bytes, backupCount=settings.logging.backup_count, encoding="utf-8")
    except OSError:
        return "(no log file: its folder is not writable)", logging.NullHandler()
    handler.setFormatter(RedactingFormatter(_FILE_FORMAT))
    return path, handler


class _LogFile(logging.handlers.RotatingFileHandler):
    """The log file. One that cannot be written (its disk full) loses the record quietly: logging's
    default prints a "Logging error" traceback on standard error, around the command's one-line
    error; the short copy of warnings and errors still goes to standard error."""

    def handleError(self, record: logging.LogRecord) -> None:
        pass

    def close(self) -> None:
        with contextlib.suppress(OSError):  # what is still buffered cannot be written either
            super().close()


def _stderr(formatter: logging.Formatter, level: int) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level)
    handler.setFormatter(formatter)
    return handler


class _NoTraceback(RedactingFormatter):
    """Standard error beside a log file: one short line per message; the file keeps tracebacks."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text = saved


class _JournalFormatter(RedactingFormatter):
    """Standard error as the only log: full records; under systemd, each line carries its priority."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if not os.environ.get("JOURNAL_STREAM"):
            return text
        prefix = f"<{_PRIORITY.get(record.levelno, 6)}>"
        return "\n".join(prefix + line for line in text.splitlines())
