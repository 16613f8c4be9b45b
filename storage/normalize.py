"""Text clean-up and paper identity (docs/formats.md#identity), shared by every parser and the loader."""

from __future__ import annotations

import hashlib
import html
import json
import re
import unicodedata

from storage.records import PaperRecord

_WS = re.compile(r"\s+")
_PUNCT = re.compile(r"[\W_]+", re.UNICODE)
# New-style ids (0704.0001 onwards, 4 or 5 digits after the dot) and old-style ids (hep-th/9901001).
# Every part bounded (archive names are at most 9 letters): a run of "x-x-x-…" made `[a-z\-]+` rescan
# the rest of the text from every letter.
_NEW_ID = r"\d{4}\.\d{4,5}"
_OLD_ID = r"[a-z][a-z\-]{1,15}(?:\.[A-Z]{2})?/\d{7}"
ARXIV_ID_RE = re.compile(rf"(?<![\w.])({_NEW_ID}|{_OLD_ID})(?:v\d+)?(?![\w])")
_ARXIV_URL = re.compile(
    rf"(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/({_NEW_ID}|{_OLD_ID})(?:v\d+)?(?:\.pdf)?",
    re.IGNORECASE,
)
_HF_PAPER_URL = re.compile(rf"(?:https?://)?huggingface\.co/papers/({_NEW_ID})", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s<>\"'\)\]\},]+")
_TRAILING = ".,;:!?)]}'\""
# ASCII characters that `_PUNCT` turns into a space (everything but letters and digits).
_ASCII_PUNCT = {c: " " for c in range(128) if not chr(c).isalnum()}


def clean_text(text: str) -> str:
    """Collapse white space and unescape XML/HTML entities exactly once.

    `str.split()` rather than a regex: it is faster on abstracts, the bulk loader's hot path.
    """
    return " ".join(html.unescape(text).split())


NUL = "\x00"


def strip_nul(paper: PaperRecord) -> list[str]:
    """Remove NUL characters from every text of `paper`, in place; the names of the fields that
    held one. A JSON digest can carry one ("\\u0000"); PostgreSQL's text refuses it and SQLite
    would keep it, so both backends store the text without it."""
    found: list[str] = []
    if NUL in paper.title:
        paper.title = paper.title.replace(NUL, "")
        found.append("title")
    if NUL in paper.abstract:
        paper.abstract = paper.abstract.replace(NUL, "")
        found.append("abstract")
    if paper.arxiv_id is not None and NUL in paper.arxiv_id:
        paper.arxiv_id = paper.arxiv_id.replace(NUL, "")
        found.append("arxiv_id")
    if paper.ai_summary is not None and NUL in paper.ai_summary:
        paper.ai_summary = paper.ai_summary.replace(NUL, "")
        found.append("ai_summary")
    for name in ("authors", "categories", "keywords"):
        items: list[str] = getattr(paper, name)
        if any(NUL in item for item in items):
            setattr(paper, name, [item.replace(NUL, "") for item in items])
            found.append(name)
    if any(NUL in kind or NUL in url for kind, url in paper.links.items()):
        paper.links = {kind.replace(NUL, ""): url.replace(NUL, "") for kind, url in paper.links.items()}
        found.append("links")
    return found


def title_key(title: str) -> str:
    """The normalised title used as identity when a paper has no arXiv id.

    Case-folded, accents and punctuation removed, white space collapsed, so that
    "FlashAttention: Fast..." and "flashattention  fast..." are the same paper.
    """
    if title.isascii():
        # The common case, faster and the same key: NFKD and combining marks do nothing to
        # ASCII, casefold() is lower(), and every ASCII non-word character becomes a space.
        return " ".join(title.lower().translate(_ASCII_PUNCT).split())
    text = unicodedata.normalize("NFKD", title)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _WS.sub(" ", _PUNCT.sub(" ", text.casefold())).strip()


def identity_key(title: str, authors: list[str], abstract: str) -> str:
    """What identifies a paper without an arXiv id: its title key, never empty.

    A title with no letter or digit ("!!!", "🚀🚀") has an empty title key, and an empty key is no
    identity (five such papers merged into two). Those get a key from the whole record instead, which
    no title key can equal (it starts with "#"): distinct papers stay distinct and loading the same
    paper again still finds it.
    """
    key = title_key(title)
    if key:
        return key
    whole = json.dumps([title, authors, abstract], ensure_ascii=False)
    return "#" + hashlib.sha256(whole.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def parse_arxiv_id(text: str) -> str | None:
    """The arXiv id (without version) in a bare id, an `arXiv:` reference or an arXiv/HF URL."""
    text = text.strip()
    for pattern in (_ARXIV_URL, _HF_PAPER_URL):
        m = pattern.search(text)
        if m:
            return m.group(1)
    candidate = text[6:] if text.lower().startswith("arxiv:") else text
    m = ARXIV_ID_RE.fullmatch(candidate.strip())
    return m.group(1) if m else None


def arxiv_links(arxiv_id: str) -> dict[str, str]:
    return {"arxiv": f"https://arxiv.org/abs/{arxiv_id}", "pdf": f"https://arxiv.org/pdf/{arxiv_id}"}


def links_in_text(text: str) -> dict[str, str]:
    """Code and project links mentioned in an abstract ("Code is available at https://github.com/...")."""
    found: dict[str, str] = {}
    for raw in _URL.findall(text):
        url = raw.rstrip(_TRAILING)
        low = url.lower()
        if "github.com/" in low or "gitlab.com/" in low:
            found.setdefault("github", url)
        elif "huggingface.co/" in low or "arxiv.org/" in low:
            continue
        else:
            found.setdefault("project", url)
    return found
