"""The commands' user-facing errors, and the one place that turns any exception into a reply.

    CommandError          a refusal the user can act on: one short line, only they see it
    ├── UsageError        a missing, unknown or malformed option; an unknown command
    ├── NotAllowed        admin-only command, or a server command used in a direct message
    └── NotFound          no such paper, digest, topic or page

Errors the services raise for bad input (a search query, a schedule value, an unreadable
digest, a failed download) are shown the same way. Anything else is a bug: it is logged with
its traceback and the user gets a short apology, never the traceback.
"""

from __future__ import annotations

import logging

from bot.chat import limits
from bot.chat.replies import Reply
from bot.community.service import CommunityError
from bot.download.errors import DownloadError
from bot.schedule.settings import ScheduleError
from bot.search.service import QueryError
from bot.subscriptions.topics import SubscriptionError
from storage.errors import ConnectionLost, DatabaseUnavailable, InputError, NotPaperboyDatabase

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 600  # a refusal is one or two lines, whatever the input echoed in it


class CommandError(Exception):
    """A refusal with a message meant for the user (it may quote their input: it is made safe)."""


class UsageError(CommandError):
    pass


class NotAllowed(CommandError):
    pass


class NotFound(CommandError):
    pass


# Service errors whose message is already a short sentence for the user.
USER_ERRORS: tuple[type[Exception], ...] = (CommandError, QueryError, ScheduleError, InputError, DownloadError,
                                            SubscriptionError, CommunityError)


# The database server is restarting or unreachable: the pool reconnects by itself once it is back.
BRIEFLY_UNAVAILABLE = "The archive is briefly unavailable; try again in a moment."


def refusal(message: str) -> Reply:
    return Reply(text=limits.safe(message, MESSAGE_LIMIT) or "That did not work.", private=True)


def error_reply(exc: BaseException, command: str) -> Reply:
    """The reply for an exception raised while running `command` (its qualified name)."""
    if isinstance(exc, USER_ERRORS):
        return refusal(str(exc))
    if isinstance(exc, ConnectionLost):
        log.warning("/%s: %s", command, exc)
        return refusal(BRIEFLY_UNAVAILABLE)
    if isinstance(exc, DatabaseUnavailable):
        log.warning("/%s: database unavailable: %s", command, exc)
        if "locked" in str(exc):
            return refusal("The archive is busy right now; please try again in a moment.")
        if "disk i/o error" in str(exc).lower():
            return refusal("The archive cannot be read right now (a disk error on the server). "
                           "The operator has been told in the log.")
        return refusal("The archive cannot be written right now (the server's disk is full or read-only); "
                       "searching and reading still work. The operator has been told in the log.")
    if isinstance(exc, NotPaperboyDatabase):
        log.error("/%s: %s", command, exc)
        return refusal("The archive is damaged, so that cannot be answered. The operator has been told in the log.")
    log.error("/%s failed", command, exc_info=exc)
    return refusal(f"Sorry, something went wrong while running /{command}. It has been logged.")
