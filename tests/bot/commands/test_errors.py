"""Typed errors become short private replies that say what the user can do."""

from __future__ import annotations

import pytest

from bot.commands.errors import error_reply
from storage.errors import DatabaseUnavailable, NotPaperboyDatabase


@pytest.mark.parametrize(("message", "expected"), [
    ("the database is locked by another process; try again shortly", "busy right now"),
    ("the disk is full: nothing was written, the database is unchanged", "disk is full or read-only"),
    ("the database at p.db (or its folder) is not writable", "disk is full or read-only"),
    ("the database at p.db cannot be read or written: disk I/O error (is the disk full or failing?)",
     "cannot be read right now"),
])
def test_an_unwritable_archive_is_explained_not_blamed_on_load(message: str, expected: str) -> None:
    reply = error_reply(DatabaseUnavailable(message), "subscribe")
    assert reply.private and expected in reply.text


def test_a_bug_is_logged_and_answered_without_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    reply = error_reply(ZeroDivisionError("boom"), "search")
    assert reply.private and "Traceback" not in reply.text and "/search" in reply.text
    assert any(r.exc_info for r in caplog.records)


def test_a_damaged_archive_is_said_so_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    reply = error_reply(NotPaperboyDatabase("the database at p.db is damaged or is not a Paperboy database"), "search")
    assert reply.private and reply.text.startswith("The archive is damaged")
    assert any("damaged" in r.getMessage() for r in caplog.records)
