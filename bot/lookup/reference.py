"""A paper named the way any command prints one: `id:22`, `22`, `arxiv:2401.15024`, an arXiv id
(with or without version) or an arXiv / Hugging Face URL."""

from __future__ import annotations

import re

from storage import papers as paper_repo
from storage.db import Database
from storage.normalize import parse_arxiv_id
from storage.papers import ListedPaper
from storage.records import StoredPaper

FORMS = "id:22 (or 22), an arXiv id like 2306.07629, arxiv:2306.07629 or an arXiv URL"
_PAPER_ID = re.compile(r"^(?:id:)?(\d{1,18})$", re.IGNORECASE)


def reference_key(text: str, *, bare_number: bool = True) -> int | str | None:
    """The paper id (an int) or arXiv id (a str) that `text` names, or None. `bare_number=False`:
    "22" is not read as id:22 (where a number may also be part of a title)."""
    text = text.strip()
    m = _PAPER_ID.match(text)
    if m and (bare_number or text[:3].casefold() == "id:"):
        return int(m.group(1))
    return parse_arxiv_id(text)


async def find_by_reference(db: Database, text: str, *, bare_number: bool = True) -> StoredPaper | None:
    """The stored paper `text` names (`reference_key`), or None."""
    key = reference_key(text, bare_number=bare_number)
    if isinstance(key, int):
        return await paper_repo.get_paper(db, key)
    return await paper_repo.get_by_arxiv_id(db, key) if key else None


async def find_listed(db: Database, text: str, *, bare_number: bool = True) -> ListedPaper | None:
    """As find_by_reference, with the digests that listed the paper, read in the same trip."""
    key = reference_key(text, bare_number=bare_number)
    return await paper_repo.get_listed(db, key) if key is not None else None
