"""Chat /ingest and request forgery (issue #12): the address checked is the address connected to,
on every hop; [ingest] chat_private_urls lifts the guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.commands import Context, dispatch
from tests.bot.sources.fake_network import PUBLIC, fake_network
from tests.bot.sources.upstream import Reply, Upstream


def _port(server: Upstream) -> int:
    return int(server.base.rsplit(":", 1)[1])


async def test_a_name_that_resolves_public_then_loopback_is_refused(
        admin: Context, upstream: Upstream, monkeypatch: pytest.MonkeyPatch, fixtures: Path) -> None:
    upstream.serve("/digest.json", Reply((fixtures / "hf-daily-papers-api-sample.json").read_bytes()))
    with fake_network(monkeypatch) as network:
        network.resolve("papers.example", PUBLIC, "127.0.0.1")  # DNS rebinding: public for the check only
        reply = await dispatch("ingest", {"url": f"http://papers.example:{_port(upstream)}/digest.json"}, admin)
    assert reply.private and "127.0.0.1 is not a public address" in reply.text, reply.text
    assert upstream.requests == [] and len(network.lookups) == 2


async def test_a_public_url_redirecting_to_loopback_is_refused(
        admin: Context, upstream: Upstream, monkeypatch: pytest.MonkeyPatch, fixtures: Path) -> None:
    port = _port(upstream)
    upstream.serve("/start", Reply(status=302, headers={"Location": f"http://127.0.0.1:{port}/digest.json"}))
    upstream.serve("/digest.json", Reply((fixtures / "hf-daily-papers-api-sample.json").read_bytes()))
    with fake_network(monkeypatch) as network:
        network.resolve("papers.example", PUBLIC)
        reply = await dispatch("ingest", {"url": f"http://papers.example:{port}/start"}, admin)
    assert "Could not load" in reply.text and "127.0.0.1 is not a public address" in reply.text, reply.text
    assert upstream.paths() == ["/start"]


async def test_chat_private_urls_lets_chat_load_from_the_local_network(
        admin: Context, upstream: Upstream, fixtures: Path) -> None:
    admin.services.settings.ingest.chat_private_urls = True
    upstream.serve("/start", Reply(status=302, headers={"Location": upstream.url("/digest.json")}))
    upstream.serve("/digest.json", Reply((fixtures / "hf-daily-papers-api-sample.json").read_bytes()))
    reply = await dispatch("ingest", {"url": upstream.url("/start")}, admin)
    assert reply.text.startswith("Loaded"), reply.text
