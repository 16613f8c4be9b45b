"""Every request the Discord client makes draws from the process's share of the global limit: the
senders' through their token (`prepaid`), discord.py's own ones (logging in, registering
commands) charged after the fact; interaction responses, which Discord does not count, are free."""

from __future__ import annotations

from typing import Any

from discord.http import HTTPClient, Route

from bot.chat.ratelimit import TokenBucket
from bot.transports.discord_bot.budget import charge_requests, prepaid


class StubHttp:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def request(self, route: Route, **kwargs: Any) -> Any:
        self.sent.append(route.path)
        return {}


def bucket() -> TokenBucket:
    return TokenBucket(10.0, 5, clock=lambda: 0.0)


async def test_unpaid_requests_are_charged_and_interaction_responses_are_not() -> None:
    http, limiter = StubHttp(), bucket()
    restore = charge_requests(http, limiter)  # type: ignore[arg-type]
    await http.request(Route("GET", "/users/@me"))
    await http.request(Route("GET", "/oauth2/applications/@me"))
    await http.request(Route("POST", "/interactions/{id}/{token}/callback", id=1, token="t"))
    await http.request(Route("POST", "/webhooks/{id}/{token}", id=1, token="t"))
    assert limiter._tokens == 3.0  # two charged, the interaction's two free
    restore()
    await http.request(Route("GET", "/users/@me"))
    assert limiter._tokens == 3.0 and len(http.sent) == 5


async def test_a_senders_token_covers_one_request_and_a_second_is_charged() -> None:
    http, limiter = StubHttp(), bucket()
    charge_requests(http, limiter)  # type: ignore[arg-type]
    with prepaid():
        await http.request(Route("POST", "/channels/{channel_id}/messages", channel_id=1))
    assert limiter._tokens == 5.0
    with prepaid():  # a direct message: opening the DM channel, then the message
        await http.request(Route("POST", "/users/@me/channels"))
        await http.request(Route("POST", "/channels/{channel_id}/messages", channel_id=2))
    assert limiter._tokens == 4.0


def test_the_real_client_has_the_request_method_it_wraps() -> None:
    assert callable(HTTPClient.request)
