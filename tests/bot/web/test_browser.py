"""The archive in a real browser: headless Chromium (Debian's `chromium`) driven over the DevTools
protocol opens the home page, a digest, a search and a paper page, reads what a person sees, uses
the as-you-type suggestions with the keyboard, and saves screenshots checked not to be blank.

Without Chromium these tests skip saying why, unless PAPERBOY_REQUIRE_BROWSER=1 (CI sets it and
installs Chromium): then a missing browser is a failure. PAPERBOY_SCREENSHOTS=DIR keeps the
screenshots there (they are written to the test's temporary folder either way).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import App
from bot.lookup.close import CloseMatches
from testkit.browser import Browser, BrowserUnavailable, Page, find_chromium, ink, png_pixels
from tests.bot.web.conftest import SCRIPT_TITLE


@pytest.fixture
def chromium() -> str:
    try:
        return find_chromium()
    except BrowserUnavailable as exc:
        if os.environ.get("PAPERBOY_REQUIRE_BROWSER") == "1":
            pytest.fail(f"a browser is required here (PAPERBOY_REQUIRE_BROWSER=1): {exc}")
        pytest.skip(str(exc))


@pytest.fixture
async def site(archive: App) -> str:
    return await archive.start_web("127.0.0.1", 0)


@pytest.fixture
async def page(chromium: str, tmp_path: Path) -> AsyncIterator[Page]:
    async with Browser.launch(tmp_path) as browser:
        yield await browser.page()


def _keep(tmp_path: Path, name: str, png: bytes) -> None:
    (tmp_path / name).write_bytes(png)
    kept = os.environ.get("PAPERBOY_SCREENSHOTS")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / name, Path(kept) / name)


async def _shot(page: Page, tmp_path: Path, name: str) -> None:
    png = await page.screenshot()
    _keep(tmp_path, name, png)
    width, height, _ = png_pixels(png)
    assert width > 300 and height > 300
    assert ink(png) > 0.01, f"{name} looks blank"


def _errors(page: Page) -> list[str]:
    """What the console said went wrong: a script that failed, a resource refused by the CSP."""
    found = []
    for event in page.events:
        if event["method"] == "Log.entryAdded" and event["params"]["entry"]["level"] == "error":
            entry = event["params"]["entry"]
            found.append(f"{entry['text']} {entry.get('url', '')}")
        if event["method"] == "Runtime.exceptionThrown":
            found.append(str(event["params"]["exceptionDetails"]))
    return found


async def test_a_reader_browses_the_archive(site: str, page: Page, tmp_path: Path) -> None:
    await page.goto(site + "/")
    text = await page.evaluate("document.body.innerText")
    assert "hf-daily · Wed 10 Sep 2025" in text and "Highlights (by upvotes)" in text
    assert SCRIPT_TITLE in text  # the hostile title is text on screen...
    assert await page.evaluate("window.pwned === undefined && document.querySelectorAll('script').length") == 1
    assert await page.evaluate("getComputedStyle(document.body).maxWidth") != "none"  # the stylesheet applied
    await _shot(page, tmp_path, "home.png")

    await page.goto(site + "/digests/2025-09-09")
    text = await page.evaluate("document.body.innerText")
    assert "hf-daily · Tue 9 Sep 2025" in text and "144 papers" in text and "All papers by theme" in text
    assert await page.evaluate("document.querySelectorAll('ul.papers a[href^=\"/papers/\"]').length") == 144
    await _shot(page, tmp_path, "digest.png")

    await page.goto(site + "/search?q=diffusion+models&since=2025-09-01")
    text = await page.evaluate("document.body.innerText")
    assert "papers match" in text and "Next →" in text
    assert await page.evaluate("document.querySelectorAll('ol.results mark').length") >= 10
    await _shot(page, tmp_path, "search.png")

    first = await page.evaluate("document.querySelector('ol.results h2 a').getAttribute('href')")
    await page.goto(site + first)
    text = await page.evaluate("document.body.innerText")
    assert "Abstract" in text and "Listed in 1 digest" in text and "Close matches" in text
    await _shot(page, tmp_path, "paper.png")
    assert _errors(page) == []


async def test_close_matches_not_found_yet_are_filled_in_by_the_page_script(site: str, page: Page, archive: App,
                                                                           tmp_path: Path) -> None:
    lookup = archive.services.lookup
    await lookup.close_matches.found_ahead()
    lookup.close_matches = CloseMatches(lookup)  # as in a process that has found none yet
    await page.goto(site + "/papers/2509.00001")
    count = await page.wait_for("document.querySelectorAll('#close ul.close li a').length")
    assert count >= 1
    assert await page.evaluate("document.querySelector('#close .close-link').hidden") is True
    first = await page.evaluate("document.querySelector('#close ul.close li a').getAttribute('href')")
    assert first.startswith("/papers/") and first != "/papers/2509.00001"
    await _shot(page, tmp_path, "paper-close.png")
    assert _errors(page) == []


async def test_title_suggestions_as_you_type_with_the_keyboard(site: str, page: Page, tmp_path: Path) -> None:
    await page.goto(site + "/")
    await page.evaluate("document.getElementById('find-title').focus()")
    await page.type("slicegp")
    count = await page.wait_for("!document.getElementById('find-title-list').hidden"
                                " && document.querySelectorAll('#find-title-list li').length")
    assert count >= 1
    shown = await page.evaluate("document.getElementById('find-title-list').innerText")
    assert shown.startswith("SliceGPT: Compress Large Language Models")
    assert await page.evaluate("document.getElementById('find-title').getAttribute('aria-expanded')") == "true"
    await _shot(page, tmp_path, "suggestions.png")
    await page.press("ArrowDown", 40)
    assert await page.evaluate("document.querySelector('#find-title-list li[aria-selected=true]').innerText") \
        == shown.split("\n")[0]
    await page.press("Enter", 13, "\r")
    await page.wait_for("location.pathname.startsWith('/papers/') && document.readyState === 'complete'")
    title = await page.wait_for("document.querySelector('article.paper h1') &&"
                                " document.querySelector('article.paper h1').innerText")
    assert title == "SliceGPT: Compress Large Language Models by Deleting Rows and Columns"
    assert _errors(page) == []


async def test_without_javascript_the_form_still_finds_the_paper(site: str, page: Page) -> None:
    await page.send("Emulation.setScriptExecutionDisabled", value=True)
    await page.goto(site + "/papers?title=slicegpt+compress")
    text = await page.evaluate("document.body.innerText")  # evaluated by the protocol, not the page
    assert "SliceGPT: Compress Large Language Models" in text


async def test_readable_on_a_phone_and_reachable_by_keyboard(site: str, page: Page, tmp_path: Path) -> None:
    await page.send("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=1, mobile=True)
    for path, name in (("/digests/2025-09-09", "digest-phone.png"), ("/digests", "calendar-phone.png")):
        await page.goto(site + path)
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
        await _shot(page, tmp_path, name)
    await page.press("Tab", 9)
    assert await page.evaluate("document.activeElement.className") == "skip"
    assert await page.evaluate("getComputedStyle(document.activeElement).left") != "-999px"  # shown when focused
    await page.press("Tab", 9)
    assert await page.evaluate("document.activeElement.getAttribute('href')") == "/"
