"""A fake piece of the internet for the request-forgery tests: host names that resolve to chosen
addresses (changing answer from one look-up to the next if asked), and public addresses that are
routed to a loopback server, so a "public" site can be served by the test itself."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

PUBLIC = "93.184.216.34"  # a public address (is_global); connections to it go to 127.0.0.1 here


class FakeNetwork:
    def __init__(self) -> None:
        self.names: dict[str, list[str]] = {}  # host -> its answers, one per look-up, the last repeating
        self.lookups: list[str] = []

    def resolve(self, host: str, *answers: str) -> None:
        self.names[host] = list(answers)

    def getaddrinfo(self, real: Any, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in self.names:
            return real(host, port, *args, **kwargs)
        self.lookups.append(name)
        answers = self.names[name]
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port or 0)))]


@contextmanager
def fake_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeNetwork]:
    network = FakeNetwork()
    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo",
                        lambda *a, **k: network.getaddrinfo(real_getaddrinfo, *a, **k))
    loop = asyncio.get_running_loop()
    real_connect = loop.sock_connect

    async def sock_connect(sock: socket.socket, address: Any) -> None:
        if address[0] == PUBLIC:
            address = ("127.0.0.1", *address[1:])
        await real_connect(sock, address)

    monkeypatch.setattr(loop, "sock_connect", sock_connect)
    yield network
