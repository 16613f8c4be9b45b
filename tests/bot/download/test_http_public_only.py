"""Request forgery (issue #12): with public_only, every connection of a download, redirects
included, goes to a public address, checked on the address actually connected to."""

from __future__ import annotations

import pytest

from bot.download.addresses import is_public_address
from bot.download.http import DownloadError, download
from tests.bot.sources.fake_network import PUBLIC, fake_network
from tests.bot.sources.upstream import Reply, Upstream


def _port(upstream: Upstream) -> int:
    return int(upstream.base.rsplit(":", 1)[1])


@pytest.mark.parametrize("target", ["http://127.0.0.1:{port}/secret", "http://localhost:{port}/secret",
                                    "http://[::ffff:127.0.0.1]:{port}/secret", "http://inside.example:{port}/secret"])
async def test_a_public_url_redirecting_inside_is_refused_at_the_redirect(
        upstream: Upstream, monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    with fake_network(monkeypatch) as network:
        network.resolve("public.example", PUBLIC)
        network.resolve("inside.example", "10.0.0.7")
        port = _port(upstream)
        upstream.serve("/start", Reply(status=302, headers={"Location": target.format(port=port)}))
        upstream.serve("/secret", Reply("the metadata service's secrets"))
        with pytest.raises(DownloadError, match="is not a public address") as info:
            await download(f"http://public.example:{port}/start", max_bytes=1000, public_only=True)
    assert not info.value.retryable
    assert upstream.paths() == ["/start"]  # the public hop was fetched, the inside one never


async def test_the_same_redirect_is_followed_without_public_only(upstream: Upstream,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_network(monkeypatch) as network:
        network.resolve("public.example", PUBLIC)
        upstream.serve("/start", Reply(status=302, headers={"Location": upstream.url("/secret")}))
        upstream.serve("/secret", Reply("inside"))
        body = await download(f"http://public.example:{_port(upstream)}/start", max_bytes=1000)
    assert body == b"inside" and upstream.paths() == ["/start", "/secret"]


async def test_a_name_is_checked_on_the_address_it_resolves_to_for_the_connection(
        upstream: Upstream, monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_network(monkeypatch) as network:
        network.resolve("rebind.example", "127.0.0.1")
        upstream.serve("/x", Reply("inside"))
        with pytest.raises(DownloadError, match="127.0.0.1 is not a public address"):
            await download(f"http://rebind.example:{_port(upstream)}/x", max_bytes=1000, public_only=True)
    assert upstream.requests == []


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                                     "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::",
                                     "fe80::1%eth0", "fd00:ec2::254", "::ffff:127.0.0.1", "2002:7f00:1::1",
                                     "ff02::1", "not an address"])
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", [PUBLIC, "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses(address: str) -> None:
    assert is_public_address(address)
