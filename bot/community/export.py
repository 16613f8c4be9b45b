"""A list of papers written as a file: BibTeX, CSV or JSON Lines (library exports, `paperboy export`).

BibTeX: one `@misc` entry per paper with a key unique within the file (first author's surname,
year, first title word: `vaswani2017attention`, then `…b`, `…c` on a clash), fields LaTeX-safe
(the ten special characters written as commands whose braces balance, since BibTeX counts every
brace whatever precedes it; each field on one line, so an "@" in a title never starts a line),
the title's TeX turned into Unicode first (as every reader sees it) and double-braced so styles
keep its capitals; arXiv papers carry `eprint`, `archivePrefix = {arXiv}`
and `primaryClass`. Names holding " and " or a comma are braced, so BibTeX reads them as one name.

CSV: one row per paper; a text cell that a spreadsheet would run as a formula (starting with =, +,
-, @, a tab or a carriage return) is written with a leading apostrophe. JSON Lines: one object per
line, UTF-8, the same fields as the CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.chat.limits import clean_user_text
from bot.display.titles import shown_title
from storage.records import StoredPaper

FORMATS = ("bibtex", "csv", "jsonl")
EXTENSIONS = {"bibtex": "bib", "csv": "csv", "jsonl": "jsonl"}
MEDIA_TYPES = {"bibtex": "application/x-bibtex", "csv": "text/csv", "jsonl": "application/jsonl"}

_LATEX = {
    "\\": r"\textbackslash{}", "{": r"\textbraceleft{}", "}": r"\textbraceright{}", "%": r"\%", "&": r"\&",
    "$": r"\$", "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}
_LATEX_RE = re.compile("|".join(re.escape(c) for c in _LATEX))
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_STOP_WORDS = frozenset({"a", "an", "the", "on", "of", "for", "and", "in", "to", "with", "towards", "toward", "via",
                        "is", "are", "from", "by", "at", "as"})
COLUMNS = ("paper_id", "arxiv_id", "title", "authors", "year", "published", "categories", "url", "abstract",
           "saved_at")


@dataclass(frozen=True, slots=True)
class ExportItem:
    """A paper to write, with its first listing day (for a year when it has no publication date)
    and, for a library, when it was saved."""

    paper: StoredPaper
    first_listed: dt.date | None = None
    saved_at: dt.datetime | None = None
    known_id: bool = True  # False: `paper.id` is a placeholder (an archive export row carries no id)

    @property
    def year(self) -> int | None:
        day = self.paper.published or self.first_listed
        return day.year if day else None

    @property
    def url(self) -> str | None:
        p = self.paper
        # The paper's own page: its arXiv page or PDF (a code or project link is not the paper).
        return (p.links.get("arxiv") or (f"https://arxiv.org/abs/{p.arxiv_id}" if p.arxiv_id else None)
                or p.links.get("pdf"))


def _one_line(text: str) -> str:
    return " ".join(clean_user_text(text).split())


def latex_escape(text: str) -> str:
    """`text` safe inside a braced BibTeX field: specials as commands, braces always balanced."""
    return _LATEX_RE.sub(lambda m: _LATEX[m.group(0)], _one_line(text))


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]", "", folded.casefold())


def _surname(name: str) -> str:
    name = _one_line(name)
    if re.search(r"\band\b", name, re.IGNORECASE):  # an organisation ("Smith and Sons"): its first word
        return name.split(" ")[0]
    if "," in name:
        return name.split(",", 1)[0]
    parts = name.split(" ")
    return parts[-1] if parts else ""


def _base_key(item: ExportItem) -> str:
    authors = item.paper.authors
    who = _ascii_word(_surname(authors[0]))[:24] if authors else ""
    words = [_ascii_word(w) for w in shown_title(item.paper.title).split()]
    word = next((w for w in words if w and w not in _STOP_WORDS), "")[:24]
    year = str(item.year) if item.year else ""
    return (who or "paper") + year + word


def bibtex_keys(items: Sequence[ExportItem], taken: set[str] | None = None) -> list[str]:
    """A key per item, unique within the list and among `taken` (which it extends): a second
    `smith2024deep` is `smith2024deepb`."""
    taken = set() if taken is None else taken
    keys = []
    for item in items:
        base = _base_key(item)
        key, n = base, 1
        while key in taken:
            n += 1
            key = base + _suffix(n)
        taken.add(key)
        keys.append(key)
    return keys


def _suffix(n: int) -> str:
    """2 -> "b", 26 -> "z", 27 -> "ba": letters, so a key never runs into the year."""
    letters = ""
    n -= 1
    while n > 0:
        letters = chr(ord("a") + n % 26) + letters
        n //= 26
    return letters


def _bib_name(name: str) -> str:
    text = latex_escape(name)
    return f"{{{text}}}" if re.search(r"\band\b|,", text, re.IGNORECASE) else text


def bibtex_entry(item: ExportItem, key: str) -> str:
    p = item.paper
    fields: list[tuple[str, str]] = [("title", "{" + latex_escape(shown_title(p.title) or "(untitled)") + "}")]
    names = [n for n in (_one_line(a) for a in p.authors) if n]
    if names:
        fields.append(("author", " and ".join(_bib_name(n) for n in names)))
    if item.year:
        fields.append(("year", str(item.year)))
    if p.arxiv_id:
        fields += [("eprint", latex_escape(p.arxiv_id)), ("archivePrefix", "arXiv")]
        if p.categories:
            fields.append(("primaryClass", latex_escape(p.categories[0])))
    if item.url:
        # \url-style: URLs are left as they are, only braces (never valid in a URL we keep) dropped.
        fields.append(("url", re.sub(r"[{}\s]", "", item.url)))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}\n"



class Writer:
    """Writes items one by one in a format, for exports too large to hold (the whole archive):
    `header()`, then `chunk(items)` per batch; BibTeX keys stay unique across batches."""

    def __init__(self, fmt: str) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown export format {fmt!r}")
        self.fmt = fmt
        self._keys: set[str] = set()
        self._first = True

    def header(self) -> str:
        return to_csv([]) if self.fmt == "csv" else ""

    def chunk(self, items: Sequence[ExportItem]) -> str:
        if self.fmt == "csv":
            return to_csv(items).split("\r\n", 1)[1]
        if self.fmt == "jsonl":
            return to_jsonl(items)
        out = []
        for item, key in zip(items, bibtex_keys(items, self._keys), strict=True):
            out.append(("" if self._first else "\n") + bibtex_entry(item, key))
            self._first = False
        return "".join(out)


def row(item: ExportItem) -> dict[str, object]:
    """The CSV / JSON Lines fields of one paper (text as people read it: TeX as Unicode)."""
    p = item.paper
    return {"paper_id": p.id if item.known_id else None, "arxiv_id": p.arxiv_id, "title": shown_title(p.title),
            "authors": [_one_line(a) for a in p.authors], "year": item.year,
            "published": p.published.isoformat() if p.published else None,
            "categories": list(p.categories), "url": item.url, "abstract": _one_line(p.abstract),
            "saved_at": item.saved_at.isoformat() if item.saved_at else None}


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = "; ".join(value) if isinstance(value, list) else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(items: Iterable[ExportItem]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for item in items:
        fields = row(item)
        writer.writerow([_cell(fields[c]) for c in COLUMNS])
    return out.getvalue()


def to_jsonl(items: Iterable[ExportItem]) -> str:
    return "".join(json.dumps(row(item), ensure_ascii=False) + "\n" for item in items)


def render(items: Sequence[ExportItem], fmt: str) -> str:
    """The whole file in `fmt` ("bibtex", "csv", "jsonl")."""
    writer = Writer(fmt)
    return writer.header() + writer.chunk(items)
