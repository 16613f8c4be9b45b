"""The documentation's relative links lead somewhere: every file and #anchor they name exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "bench" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def _prose(text: str) -> str:
    """The text without code, where brackets and parentheses are not links."""
    return _CODE.sub("", _FENCE.sub("", text))


def anchors(text: str) -> set[str]:
    """The anchors GitHub gives a Markdown file's headings: lower case, punctuation dropped,
    spaces as hyphens, a repeated one suffixed -1, -2, ..."""
    found: set[str] = set()
    for heading in _HEADING.findall(_FENCE.sub("", text)):
        slug = re.sub(r"[^\w\- ]", "", heading.lower().replace("`", "")).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in found:
            n += 1
            candidate = f"{slug}-{n}"
        found.add(candidate)
    return found


def _links() -> list[tuple[str, str]]:
    return [(str(doc.relative_to(ROOT)), target) for doc in DOCS
            for target in _LINK.findall(_prose(doc.read_text(encoding="utf-8")))
            if not re.match(r"[a-z][a-z0-9+.-]*:", target)]  # https:, mailto: ... are not checked


def test_the_anchors_are_github_s() -> None:
    text = "# Paperboy\n## The command line\n## Chat commands (Discord and console)\n## `hf-page`\n## Notes\n## Notes\n"
    assert anchors(text) == {"paperboy", "the-command-line", "chat-commands-discord-and-console", "hf-page",
                             "notes", "notes-1"}


def test_the_documentation_has_links_to_check() -> None:
    assert len(_links()) >= 10


@pytest.mark.parametrize(("doc", "target"), _links())
def test_every_relative_link_resolves(doc: str, target: str) -> None:
    path, _, anchor = target.partition("#")
    file = (ROOT / doc).parent / path if path else ROOT / doc
    assert file.exists(), f"{doc}: the link {target} names {path}, which does not exist"
    if anchor:
        assert file.suffix == ".md", f"{doc}: the link {target} has an anchor into a file that is not Markdown"
        assert anchor in anchors(file.read_text(encoding="utf-8")), (
            f"{doc}: the link {target}: {file.resolve().relative_to(ROOT)} has no heading #{anchor}")
