"""Every REST request the Discord client makes counts against this process's share of the global
rate limit (bot.chat.ratelimit), not only the daily posts and notifications.

Discord allows a bot token 50 requests a second, whatever they are: logging in, the application's
details, registering commands, opening a direct-message channel. The senders take a token from the
process's bucket before each request they make (`async with limiter`); the requests discord.py
makes for anything else are charged to the same bucket after the fact (`TokenBucket.charge`), so
the sends that follow wait for them. Interaction responses and follow-ups are left out: Discord
does not count them against the global limit.

A sender's request is marked `prepaid` by the outbound: the token it took covers one request, and
any further one made under it (opening the DM channel before a direct message) is charged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from discord.http import HTTPClient, Route

from bot.chat.ratelimit import TokenBucket

# Routes Discord exempts from the global limit: interaction callbacks and their webhooks.
EXEMPT = ("/interactions/", "/webhooks/")

_prepaid: ContextVar[list[int] | None] = ContextVar("paperboy_prepaid_requests", default=None)


@contextmanager
def prepaid(requests: int = 1) -> Iterator[None]:
    """Requests made inside are covered by a token already taken, up to `requests` of them."""
    token = _prepaid.set([requests])
    try:
        yield
    finally:
        _prepaid.reset(token)


def counts(route: Route) -> bool:
    """Whether a request on `route` counts against the global limit."""
    return not route.path.startswith(EXEMPT)


def charge_requests(http: HTTPClient, limiter: TokenBucket) -> Callable[[], None]:
    """Charge `limiter` for every request `http` makes that no sender paid for; returns a function
    that stops it."""
    original = http.request

    async def request(route: Route, **kwargs: Any) -> Any:
        paid = _prepaid.get()
        if paid is not None and paid[0] > 0:
            paid[0] -= 1
        elif counts(route):
            limiter.charge()
        return await original(route, **kwargs)

    http.request = request  # type: ignore[method-assign]

    def restore() -> None:
        http.request = original  # type: ignore[method-assign]

    return restore
