"""Every page of the web archive through aiohttp's test client: what it shows, its errors (404, 400,
never a traceback), escaping of hostile digest text, and the headers every response carries."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from aiohttp.test_utils import TestClient

from bot.app import App
from bot.lookup.close import CloseMatches
from storage import papers as paper_repo
from storage.records import PaperRecord, ParsedDigest, StoredPaper
from tests.bot.web.conftest import HOSTILE_DAY, MENTION_TITLE, SCRIPT_TITLE

Client = TestClient[object, object]


class Page(HTMLParser):
    """A page as a reader meets it: its visible text, its links, its scripts and inline handlers."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.links: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[str] = []
        self.tags: list[str] = []
        self._skip = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        if tag == "script":
            self.scripts.append(dict(attrs))
            self._skip += 1
        if tag == "a":
            self.links.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)

    @property
    def visible(self) -> str:
        return " ".join("".join(self.text).split())


async def get_page(client: Client, path: str, status: int = 200) -> Page:
    response = await client.get(path)
    body = await response.text()
    assert response.status == status, body[:500]
    assert response.content_type == "text/html"
    assert "Traceback" not in body
    return Page(body)


async def test_home_shows_the_latest_digest_as_the_daily_post_does(client: Client) -> None:
    page = await get_page(client, "/")
    assert "hf-daily · Wed 10 Sep 2025" in page.visible
    assert "3 papers, 3 new to the archive" in page.visible
    assert "Highlights (by upvotes)" in page.visible and "All papers by theme" in page.visible
    assert "/digests/2025-09-09" in page.links  # the day before
    assert "/feeds/hf-daily.atom" in page.links


async def test_a_digest_page_has_themes_highlights_with_takeaways_and_the_full_list(client: Client,
                                                                                   archive: App) -> None:
    page = await get_page(client, "/digests/2025-09-09?source=hf-daily")
    assert "hf-daily · Tue 9 Sep 2025" in page.visible
    assert "144 papers" in page.visible and "Themes of the day" in page.visible
    summary = await archive.services.summaries.get(archive.db, await _digest(archive, "2025-09-09"))
    for highlight in summary.highlights:
        assert highlight.paper.title in page.visible
        assert " ".join(highlight.takeaway.split()) in page.visible
    listed = [link for link in page.links if link.startswith("/papers/")]
    assert len(set(listed)) == 144  # every paper of the day links to its page
    for theme in summary.themes:
        assert theme.label in page.visible
    assert "/digests/2025-09-10" in page.links
    # The same page without ?source: the largest digest of the day.
    assert (await get_page(client, "/digests/2025-09-09")).visible == page.visible


async def test_home_shows_the_daily_digest_not_a_larger_snapshot_day(archive: App, client: Client) -> None:
    """An arXiv snapshot import's day is not what the daily post showed: the home page and the
    day's page without ?source show the day's hf-daily digest even when the snapshot's is larger."""
    snapshot = [PaperRecord(title=f"Snapshot paper number {i}", abstract="First versions.", arxiv_id=f"2509.1000{i}")
                for i in range(5)]
    await archive.loader.load(ParsedDigest("arxiv-snapshot", HOSTILE_DAY, "arxiv-snapshot", snapshot))
    for path in ("/", f"/digests/{HOSTILE_DAY.isoformat()}"):
        page = await get_page(client, path)
        assert "Attention Is All You Need Again" in page.visible
        assert "Snapshot paper number" not in page.visible


async def _digest(archive: App, day: str):  # type: ignore[no-untyped-def]
    import datetime as dt

    from storage import digests as digest_repo

    found = await digest_repo.find_digest(archive.db, date=dt.date.fromisoformat(day))
    assert found is not None
    return found


@pytest.mark.parametrize(("path", "status", "says"), [
    ("/digests/2020-01-01", 404, "There is no digest for 2020-01-01."),
    ("/digests/2025-09-09?source=arxiv-rss:cs.LG", 404, "There is no digest from arxiv-rss:cs.LG for 2025-09-09."),
    ("/digests/yesterday", 400, "the date 'yesterday' is not a date like 2025-09-09"),
    ("/digests/2025-02-30", 400, "is not a date like 2025-09-09"),
    ("/papers/9999.99999", 404, "The archive has no paper 9999.99999"),
    ("/papers/id:999999", 404, "The archive has no paper id:999999"),
    ("/papers/nonsense", 404, "The archive has no paper nonsense"),
    ("/search?q=diffusion&since=2025-09-10&until=2025-09-01", 400, "since 2025-09-10 is after until 2025-09-01"),
    ("/search?q=diffusion&since=09/01/2025", 400, "since '09/01/2025' is not a date like 2025-09-09"),
    ("/search?q=" + "x" * 301, 400, "q is 301 characters long; at most 300 please"),
    ("/search?q=diffusion&page=0", 400, "page must be a whole number from 1 to 10"),
    ("/search?q=diffusion&per_page=500", 400, "per_page must be a whole number from 1 to 50"),
    ("/search?q=diffusion&page=9", 404, "There is no page 9"),
    ("/search?q=%00", 400, "q holds a NUL character"),
    ("/digests?month=2025-13", 400, "month '2025-13' is not a month like 2025-09"),
    ("/no/such/page", 404, "Nothing lives at /no/such/page."),
])
async def test_errors_are_short_pages_saying_what_was_wrong(client: Client, path: str, status: int,
                                                            says: str) -> None:
    page = await get_page(client, path, status)
    assert says in page.visible
    assert "/" in page.links and "/search" in page.links


async def test_a_request_that_is_not_get_is_refused_as_read_only(client: Client) -> None:
    response = await client.post("/search", data={"q": "x"})
    assert response.status == 405
    assert "This archive only answers GET and HEAD requests." in Page(await response.text()).visible


async def test_an_unexpected_failure_is_a_500_page_without_a_traceback(client: Client, archive: App,
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the disk caught fire")

    monkeypatch.setattr("bot.web.pages.digest_repo.find_digest", broken)
    page = await get_page(client, "/", 500)
    assert "This page could not be built; the error has been logged." in page.visible
    assert "disk caught fire" not in page.visible
    assert "disk caught fire" in caplog.text  # the log keeps it


async def test_the_calendar_lists_months_and_links_each_day(client: Client) -> None:
    page = await get_page(client, "/digests")
    assert "The archive's digests: September 2025" in page.visible
    assert "/digests/2025-09-09?source=hf-daily" in page.links
    assert "/digests/2025-09-10?source=hf-daily" in page.links
    assert "September 2025: 2 days, 147 listings" in page.visible
    empty = await get_page(client, "/digests?month=2024-01")
    assert "/digests/2025-09-09?source=hf-daily" not in empty.links
    assert "/digests?month=2025-09" in empty.links  # the months list still leads back


async def test_a_paper_page_is_the_whole_card(client: Client) -> None:
    found = await (await client.get("/api/papers?q=SliceGPT")).json()
    path = "/papers/" + (found["hits"][0]["arxiv_id"] or f"id:{found['hits'][0]['paper_id']}")
    page = await get_page(client, path)
    assert "SliceGPT: Compress Large Language Models by Deleting Rows and Columns" in page.visible
    for heading in ("Takeaway", "Abstract", "Listed in 1 digest", "Close matches"):
        assert heading in page.visible
    assert "first listed 2025-09-09" in page.visible
    assert "/digests/2025-09-09?source=hf-daily" in page.links


async def test_a_paper_page_lists_its_close_matches_once_found(client: Client, archive: App) -> None:
    await archive.services.lookup.close_matches.found_ahead()  # the latest digest's, since serving began
    paper = "/papers/2509.00001"
    response = await client.get(paper)
    body = await response.text()
    assert 'class="close"' in body and "data-close" not in body
    close = body.split("Close matches", 1)[1]
    assert close.count('<li><a href="/papers/') >= 1 and f'href="{paper}"' not in close  # never itself


async def test_a_paper_page_whose_close_matches_are_not_found_yet_links_to_them(client: Client,
                                                                              archive: App) -> None:
    lookup = archive.services.lookup
    await lookup.close_matches.found_ahead()
    lookup.close_matches = CloseMatches(lookup)  # as in a process that has found none yet
    response = await client.get("/papers/2509.00001")
    body = await response.text()
    page = Page(body)
    assert 'data-close="/api/papers/2509.00001/close"' in body
    assert response.headers["Cache-Control"] == "public, max-age=30"  # built again soon, with them
    without_js = next(link for link in page.links if link.startswith("/papers?title="))
    listed = await get_page(client, without_js)
    assert "Attention Is All You Need Again" in listed.visible
    found = await (await client.get("/api/papers/2509.00001/close")).json()
    assert found["page"] == "/papers/2509.00001" and found["close"]
    assert all(hit["page"].startswith("/papers/") and hit["page"] != "/papers/2509.00001" for hit in found["close"])
    assert await lookup.close_matches.get(await _paper(archive, "2509.00001"), find=False) is not None
    missing = await client.get("/api/papers/2999.99999/close")
    assert missing.status == 404


async def _paper(archive: App, arxiv_id: str) -> StoredPaper:
    paper = await paper_repo.get_by_arxiv_id(archive.db, arxiv_id)
    assert paper is not None
    return paper


async def test_latex_in_a_title_and_abstract_is_made_readable(client: Client) -> None:
    page = await get_page(client, "/papers?title=PanGu")
    target = next(link for link in page.links if link.startswith("/papers/") and link != "/papers")
    paper = await get_page(client, target)
    assert "PanGu-π" in paper.visible
    hostile = await get_page(client, "/papers/id:146")
    assert "α-flows" in hostile.visible.split("Abstract", 1)[1]


async def test_other_forms_of_a_paper_address_redirect_to_its_one_address(client: Client) -> None:
    response = await client.get("/papers/2509.00001v3", allow_redirects=False)
    assert response.status == 301 and response.headers["Location"] == "/papers/2509.00001"
    response = await client.get("/papers/https://arxiv.org/abs/2509.00001", allow_redirects=False)
    assert response.status == 301 and response.headers["Location"] == "/papers/2509.00001"


async def test_title_look_up_without_javascript(client: Client) -> None:
    response = await client.get("/papers?title=2509.00001", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == "/papers/2509.00001"
    page = await get_page(client, "/papers?title=slicegpt+compres")
    assert "SliceGPT: Compress Large Language Models" in page.visible
    missing = await get_page(client, "/papers?title=zzqx+wvvk", 404)
    assert "No paper in the archive resembles “zzqx wvvk”." in missing.visible
    assert "/search?q=zzqx+wvvk" in missing.links


async def test_search_pages_with_snippets_marks_and_paging(client: Client) -> None:
    page = await get_page(client, "/search?q=diffusion&per_page=5")
    assert re.search(r"\d+ papers match diffusion", page.visible)
    response = await client.get("/search?q=diffusion&per_page=5")
    body = await response.text()
    assert body.count('<li>\n    <h2><a href="/papers/') == 5
    assert "<mark>" in body and "/search?q=diffusion&amp;page=2&amp;per_page=5" in body
    second = await get_page(client, "/search?q=diffusion&per_page=5&page=2")
    assert "Results 6–10 · page 2" in second.visible
    assert "/search?q=diffusion&per_page=5" in second.links  # back to page 1
    dated = await get_page(client, "/search?q=diffusion&since=2025-09-10")
    assert "since 2025-09-10" in dated.visible
    assert all("2025-09-09" not in line for line in dated.visible.split("·") if "arXiv" in line)
    none = await get_page(client, "/search?q=zzqxwvvk")
    assert "No papers match zzqxwvvk." in none.visible
    blank = await get_page(client, "/search")
    assert "Search titles and abstracts" in blank.visible


async def test_a_query_the_language_cannot_read_is_a_400_naming_the_problem(client: Client) -> None:
    page = await get_page(client, "/search?q=-survey", 400)
    assert "That request cannot be answered" in page.visible


@pytest.mark.parametrize("path", ["/", "/digests/2025-09-10", "/papers/2509.00001", "/papers/id:146",
                                  "/search?q=diffusion", "/search?q=pwned", "/papers?title=everyone+bold",
                                  "/digests"])
async def test_hostile_titles_are_text_never_markup(client: Client, path: str) -> None:
    response = await client.get(path)
    body = await response.text()
    assert response.status == 200
    assert "<script>alert" not in body and "<img src=x" not in body and "<b>Hacker" not in body
    assert "javascript:" not in "".join(Page(body).links)
    page = Page(body)
    own = ["/static/suggest.js", "/static/close.js"] if path.startswith("/papers/") else ["/static/suggest.js"]
    assert sorted(s.get("src") or "" for s in page.scripts) == sorted(own)  # the app's own scripts only
    assert page.handlers == []
    if path in ("/", "/digests/2025-09-10", "/papers/2509.00001"):
        assert SCRIPT_TITLE in page.visible  # shown as the text it is
    if path in ("/", "/digests/2025-09-10", "/papers/id:146"):
        assert MENTION_TITLE in page.visible  # markdown and mentions mean nothing on a page


async def test_every_response_has_the_security_headers(client: Client) -> None:
    for path in ("/", "/nope", "/static/style.css", "/api/search?q=x", "/feeds/hf-daily.atom", "/metrics"):
        response = await client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_pages_have_etags_and_a_second_ask_is_answered_304(client: Client) -> None:
    first = await client.get("/digests/2025-09-09")
    tag = first.headers["ETag"]
    assert "max-age=300" in first.headers["Cache-Control"]  # a past day
    again = await client.get("/digests/2025-09-09", headers={"If-None-Match": tag})
    assert again.status == 304 and await again.read() == b""
    other = await client.get("/digests/2025-09-09", headers={"If-None-Match": '"something-else"'})
    assert other.status == 200
    assert (await client.get("/")).headers["Cache-Control"] == "public, max-age=60"
    assert (await client.get("/static/style.css")).headers["Cache-Control"] == "public, max-age=86400"
    assert (await client.get("/metrics")).headers["Cache-Control"] == "no-store"
    assert (await client.get("/nope")).headers["Cache-Control"] == "no-store"


async def test_static_assets_are_served_by_the_app(client: Client) -> None:
    css = await client.get("/static/style.css")
    assert css.status == 200 and "prefers-color-scheme" in await css.text()
    js = await client.get("/static/suggest.js")
    assert js.status == 200 and "fetch(endpoint" in await js.text()
    page = await (await client.get("/")).text()
    assert "http://" not in page.split("<main")[0] and "https://" not in page.split("<main")[0]  # no CDN


async def test_pages_are_readable_on_a_phone_and_keyboard_navigable(client: Client) -> None:
    body = await (await client.get("/")).text()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in body
    assert '<a class="skip" href="#main">' in body and '<main id="main">' in body
    assert '<label for="find-title">' in body and 'role="combobox"' in body
    css = await (await client.get("/static/style.css")).text()
    assert ":focus-visible" in css and "@media (max-width" in css
