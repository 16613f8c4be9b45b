"""Feeds parsed by a real XML parser and checked for what feed readers need; the JSON API against
the CLI's --json; the suggestions endpoint; /healthz and /metrics."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import App
from bot.cli import main
from bot.commands import dispatch
from tests.bot.web.conftest import SCRIPT_TITLE

Client = TestClient[object, object]
A = "{http://www.w3.org/2005/Atom}"


async def _feed(client: Client, path: str) -> ET.Element:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    assert response.content_type == "application/atom+xml"
    root = ET.fromstring(await response.read())  # a real XML parser: a broken document raises
    assert root.tag == f"{A}feed"
    return root


def _check_atom(root: ET.Element) -> list[ET.Element]:
    """What RFC 4287 requires and readers rely on: feed id, title, updated, a self link, an
    author; each entry's id, title, updated and link, ids unique."""
    for tag in ("id", "title", "updated"):
        assert (root.findtext(f"{A}{tag}") or "").strip(), f"the feed has no {tag}"
    assert root.find(f"{A}author/{A}name") is not None
    rels = {link.get("rel"): link.get("href") for link in root.findall(f"{A}link")}
    assert rels.get("self", "").startswith("http") and rels.get("alternate", "").startswith("http")
    entries = root.findall(f"{A}entry")
    for entry in entries:
        for tag in ("id", "title", "updated"):
            assert (entry.findtext(f"{A}{tag}") or "").strip(), f"an entry has no {tag}"
        assert (entry.findtext(f"{A}updated") or "").endswith("Z")
        assert (entry.find(f"{A}link") is not None and entry.find(f"{A}link").get("href", "").startswith("http"))  # type: ignore[union-attr]
    ids = [entry.findtext(f"{A}id") for entry in entries]
    assert len(ids) == len(set(ids))
    return entries


async def test_a_search_feed_follows_a_topic(client: Client) -> None:
    root = await _feed(client, "/feeds/search.atom?q=diffusion")
    entries = _check_atom(root)
    assert 10 <= len(entries) <= 50
    assert "diffusion" in (root.findtext(f"{A}title") or "")
    titles = [entry.findtext(f"{A}title") for entry in entries]
    assert SCRIPT_TITLE in titles  # hostile text is text: the document still parses
    assert any(t == "Control characters in a diffusion title" for t in titles)  # \x01 and \x0b dropped
    first = entries[0].findtext(f"{A}updated")
    assert first == "2025-09-10T00:00:00Z"  # newest listing first
    assert entries[0].find(f"{A}summary") is not None


async def test_a_source_feed_has_an_entry_per_digest(client: Client) -> None:
    root = await _feed(client, "/feeds/hf-daily.atom")
    entries = _check_atom(root)
    assert [e.findtext(f"{A}title") for e in entries] == ["hf-daily · Wed 10 Sep 2025: 3 papers",
                                                          "hf-daily · Tue 9 Sep 2025: 144 papers"]
    content = entries[0].find(f"{A}content")
    assert content is not None and content.get("type") == "html"
    assert "&lt;script&gt;" in (content.text or "")  # escaped inside the HTML the reader renders
    assert "/papers/2509.00001" in (content.text or "")


async def test_feed_errors(client: Client) -> None:
    assert (await client.get("/feeds/arxiv-rss:cs.LG.atom")).status == 404
    response = await client.get("/feeds/search.atom")
    assert response.status == 400 and "q is empty" in await response.text()
    assert (await client.get("/feeds/search.atom?q=" + "y" * 301)).status == 400


async def test_feeds_link_to_the_public_address_when_there_is_one(archive: App) -> None:
    from aiohttp.test_utils import TestServer

    from bot.web.app import make_app

    async with TestClient(TestServer(make_app(archive.services, public_url="https://papers.example.org/"))) as c:
        root = await _feed(c, "/feeds/hf-daily.atom")
    assert root.findtext(f"{A}id") == "https://papers.example.org/feeds/hf-daily.atom"
    assert all((e.findtext(f"{A}id") or "").startswith("https://papers.example.org/digests/")
               for e in root.findall(f"{A}entry"))


async def _cli_json(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> list[Any]:
    """`paperboy ARGS --json` on the archive's database (in a thread: the CLI runs its own loop)."""
    capsys.readouterr()
    await asyncio.to_thread(main, ["--db", db, *args, "--json"])
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


async def test_the_json_api_mirrors_the_cli(client: Client, archive: App,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    db = archive.settings.db_path
    api = await (await client.get("/api/search?q=diffusion&limit=7")).json()
    cli = await _cli_json(capsys, db, "search", "diffusion", "--limit", "7")
    assert api == cli[0]
    api = await (await client.get("/api/papers?q=slicegpt")).json()
    assert api == (await _cli_json(capsys, db, "paper", "slicegpt"))[0]
    api = await (await client.get("/api/digests/2025-09-09")).json()
    assert api == (await _cli_json(capsys, db, "digest", "--date", "2025-09-09"))[0]
    listed = await (await client.get("/api/digests")).json()
    cli_list = await _cli_json(capsys, db, "digests")
    assert [{k: v for k, v in d.items() if k != "page"} for d in listed] == cli_list
    assert listed[0]["page"] == "/digests/2025-09-10?source=hf-daily"
    stats = await (await client.get("/api/stats")).json()
    cli_stats = (await _cli_json(capsys, db, "stats"))[0]
    assert stats == {k: v for k, v in cli_stats.items() if k != "database"}
    following = await (await client.get(f"/api/search?q=diffusion&limit=7&cursor={cli[0]['next_cursor']}")).json()
    assert following["hits"] and following["hits"][0]["paper_id"] not in {h["paper_id"] for h in cli[0]["hits"]}


async def test_json_api_errors_are_json(client: Client) -> None:
    for path, status, says in [("/api/search?q=", 400, "q is empty"),
                               ("/api/search?q=x&limit=101", 400, "limit must be a whole number from 1 to 100"),
                               ("/api/search?q=x&cursor=garbage", 400, "cursor"),
                               ("/api/digests/2020-01-01", 404, "no digest for 2020-01-01"),
                               ("/api/papers/id:424242", 404, "no paper id:424242"),
                               ("/api/nothing", 404, "Nothing lives at /api/nothing")]:
        response = await client.get(path)
        assert response.status == status and response.content_type == "application/json"
        assert says in (await response.json())["error"]


async def test_one_paper_as_json(client: Client) -> None:
    data = await (await client.get("/api/papers/2509.00001")).json()
    assert data["title"] == SCRIPT_TITLE and data["page"] == "/papers/2509.00001"
    assert data["listings"] == [{"source": "hf-daily", "date": "2025-09-10", "format": "hf-api", "position": 0,
                                 "upvotes": 50, "comments": None}]


async def test_suggestions_as_you_type(client: Client) -> None:
    data = await (await client.get("/api/suggest?q=slicegp")).json()
    assert data["suggestions"][0]["title"].startswith("SliceGPT")
    assert data["suggestions"][0]["url"].startswith("/papers/")
    assert (await client.get(data["suggestions"][0]["url"])).status == 200
    assert (await (await client.get("/api/suggest?q=")).json())["suggestions"] == []
    assert (await client.get("/api/suggest?q=" + "z" * 301)).status == 400


async def test_healthz(client: Client) -> None:
    response = await client.get("/healthz")
    assert response.status == 200 and (await response.json())["status"] == "ok"


async def test_metrics_in_prometheus_text_format(client: Client, archive: App) -> None:
    member = archive.context("console:alice", guild_id="console:lab", channel_id="console:general")
    await dispatch("search", {"query": "diffusion"}, member)
    await client.get("/")
    await client.get("/")  # the second answered from the page cache
    response = await client.get("/metrics")
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await response.text()
    samples = _parse_exposition(text)
    assert samples["paperboy_papers"] == 147
    assert samples["paperboy_digests"] == 2
    assert samples['paperboy_posts{status="pending"}'] == 0
    assert samples['paperboy_notifications{status="pending"}'] == 0
    assert samples['paperboy_interaction_latency_seconds_count{kind="command"}'] == 1
    assert samples['paperboy_interaction_latency_seconds_bucket{kind="command",le="+Inf"}'] == 1
    assert samples['paperboy_web_request_duration_seconds_count{route="/"}'] >= 1
    assert "# TYPE paperboy_interaction_latency_seconds histogram" in text
    assert samples['paperboy_web_page_cache_requests_total{result="miss"}'] == 1
    assert samples['paperboy_web_page_cache_requests_total{result="hit"}'] == 1


def _parse_exposition(text: str) -> dict[str, float]:
    """Prometheus' text format, strictly: every line a comment or `name{labels} value`."""
    import re

    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("# "):
            assert re.match(r"# (HELP|TYPE) [a-z_]+ ", line), line
            continue
        m = re.fullmatch(r'([a-z_]+(?:\{[a-z_]+="[^"]*"(?:,[a-z_]+="[^"]*")*\})?) (\S+)', line)
        assert m, f"not a sample line: {line!r}"
        samples[m.group(1)] = float(m.group(2))
    return samples


async def test_metrics_show_how_long_ago_each_source_last_succeeded(client: Client, archive: App) -> None:
    import datetime as dt

    from storage import fetch_state

    await fetch_state.record_success(archive.db, "hf-daily", archive.clock() - dt.timedelta(hours=2), "loaded")
    samples = _parse_exposition(await (await client.get("/metrics")).text())
    assert samples['paperboy_source_last_success_age_seconds{source="hf-daily"}'] == 7200
