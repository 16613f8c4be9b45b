"""A deterministic synthetic corpus in the arXiv metadata snapshot format, and databases built from it.

The text is recombined from the 144 real papers of the sample digest (tests/fixtures): a title is
a short name made of two real name parts plus the head of one real title and the tail of another
("TinyRNN: Efficient Dataset Pruning for Enhanced Transfer Learning"); an abstract is real
sentences, the first an opening sentence. So word frequencies, lengths and the mix of common
words ("model" is in most abstracts) look like the real thing, which is what search, fuzzy
matching and summaries are sensitive to.

Ids follow arXiv's numbering: months from 2015-01 to 2025-12, `YYMM.NNNNN` counting up within a
month, and first-version dates rising with the number (arXiv assigns ids at submission), so the
file is ordered like the real snapshot and a load sees runs of papers per day. The same size
and seed always give the same bytes; writing streams, so memory stays flat at any size.

Other benchmarks use `ensure_corpus(size)`, `ensure_database(size)` (a Paperboy database built
by the real `paperboy ingest`, cached under bench/out/) and `sample_titles()`.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import fcntl
import json
import os
import random
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bench.common import (
    OUT,
    PYTHON,
    SAMPLE_DATE,
    SAMPLE_DIGEST,
    BenchError,
    check,
    remove_database,
    run_child,
)

DEFAULT_SEED = 20250909
FIRST_YEAR, LAST_YEAR = 2015, 2025
MONTHS = [(y, m) for y in range(FIRST_YEAR, LAST_YEAR + 1) for m in range(1, 13)]
MAX_PER_MONTH = 99_999  # five-digit sequence numbers, as arXiv has used since 2015

_CONNECTORS = ("for", "via", "with", "through", "from", "in", "on", "of", "to", "using")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")
_NAME_PART = re.compile(r"[A-Z][a-z]+|[A-Z]+(?![a-z])|[a-z]+|\d+|[-+]")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_ABBR = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")



def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_FIRST_NAMES = _words("""Ada Alan Alice Amir Ana Andrea Anil Anna Arjun Aya Bao Beatriz Bilal Carlos Chen Chiara
Daniel David Dmitri Elena Emma Fatima Felix Fei Gabriel Hana Hao Hiroshi Ines Ivan Jae Jakob Jian
Jing José Julia Kai Karim Katarzyna Kenji Lars Laura Lei Li Lucas Maria Marco Mei Min Mohammed Nadia
Naveen Nikolai Olga Omar Pablo Priya Qiang Rahul Ravi Rui Sara Sergei Shreya Sofia Sven Takeshi Tao
Tomás Usman Vera Wei Xin Yan Yara Yong Yuki Yusuf Zhang Zoë""")
_LAST_NAMES = _words("""Abadi Agarwal Ahmed Alvarez Andersen Bauer Bianchi Brown Chen Cohen Costa Das Dubois
Fernández Fischer Garcia Gupta Haddad Hansen Hoffmann Huang Ivanova Jensen Kim Kowalski Kumar Lee
Li Lin Liu Lopez Martin Meyer Mohamed Müller Nakamura Nguyen Novak Okafor Olsen Park Patel Pereira
Petrov Qian Rao Rossi Sato Schmidt Silva Singh Smith Sun Suzuki Tanaka Wang Weber Wu Xu Yamamoto
Yang Ye Yilmaz Zhang Zhao Zhou Zhu Østergaard""")
_CATEGORIES = [("cs.LG", 30), ("cs.CL", 20), ("cs.CV", 20), ("cs.AI", 10), ("stat.ML", 6), ("cs.RO", 3),
               ("cs.IR", 3), ("cs.SE", 2), ("cs.DC", 2), ("eess.AS", 1), ("cs.NE", 1), ("math.OC", 1),
               ("q-bio.QM", 1)]
_CATEGORY_NAMES = [c for c, _ in _CATEGORIES]
_CATEGORY_WEIGHTS = [w for _, w in _CATEGORIES]
_LICENSES = [None, "http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
             "http://creativecommons.org/licenses/by/4.0/", "http://creativecommons.org/licenses/by-sa/4.0/",
             "http://creativecommons.org/licenses/by-nc-sa/4.0/"]
_LICENSE_WEIGHTS = [10, 55, 25, 5, 5]


@dataclass(frozen=True, slots=True)
class SamplePaper:
    title: str
    abstract: str


@cache
def sample_papers() -> tuple[SamplePaper, ...]:
    """The 144 real papers of the sample digest (title and abstract), in page order.

    The page text is a header ending with the date line, then title and abstract paragraphs
    alternating; reading it directly keeps the generator independent of the parsers.
    """
    text = SAMPLE_DIGEST.read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    body = paragraphs[paragraphs.index("Sep 9") + 1:]
    if len(body) % 2:
        raise ValueError(f"{SAMPLE_DIGEST}: expected title/abstract pairs after the date line")
    return tuple(SamplePaper(t, a) for t, a in zip(body[0::2], body[1::2], strict=True))


def sample_titles() -> list[str]:
    """The real titles, for accuracy benchmarks (look them up among the synthetic ones)."""
    return [p.title for p in sample_papers()]


@dataclass(frozen=True, slots=True)
class _TextPool:
    name_parts: tuple[str, ...]  # "Flash", "RNN", "CLIP", ...
    heads: tuple[str, ...]  # "Efficient Dataset Pruning"
    tails: tuple[str, ...]  # "for Enhanced Transfer Learning"
    openings: tuple[str, ...]  # first sentences of abstracts
    sentences: tuple[str, ...]  # all other sentences


@cache
def _pool() -> _TextPool:
    parts: set[str] = set()
    heads: list[str] = []
    tails: list[str] = []
    openings: list[str] = []
    sentences: list[str] = []
    for paper in sample_papers():
        name, sep, rest = paper.title.partition(": ")
        if not sep:
            rest = paper.title
        elif len(name.split()) <= 2:  # a short name ("FlashRNN"), not a phrase before a subtitle
            parts.update(p for p in _NAME_PART.findall(name) if len(p) > 1 and not p.isdigit())
        words = rest.split()
        # Split at the first connector after two words: "X Y Z | for A B".
        for i in range(2, len(words) - 1):
            if words[i].lower() in _CONNECTORS:
                heads.append(" ".join(words[:i]))
                tails.append(" ".join(words[i:]))
                break
        found = _SENTENCE_END.split(paper.abstract)
        openings.append(found[0])
        sentences.extend(found[1:])
    return _TextPool(tuple(sorted(parts)), tuple(heads), tuple(tails), tuple(openings), tuple(sentences))


def _snapshot_date(moment: dt.datetime) -> str:
    """RFC 2822 as the snapshot writes it ("Mon, 2 Apr 2007 19:18:42 GMT"), locale-independent."""
    return (f"{_DAYS[moment.weekday()]}, {moment.day} {_MONTH_ABBR[moment.month]} {moment.year} "
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} GMT")


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.pool = _pool()
        self.last_day = dt.date(LAST_YEAR, 12, 31)

    def title(self) -> str:
        rng, pool = self.rng, self.pool
        text = f"{rng.choice(pool.heads)} {rng.choice(pool.tails)}"
        if rng.random() < 0.7:  # most real titles start with a short name
            text = f"{rng.choice(pool.name_parts)}{rng.choice(pool.name_parts)}: {text}"
        if len(text) > 70 and rng.random() < 0.5:
            # The snapshot keeps the submitter's line breaks; the parser must collapse them.
            cut = text.find(" ", 60)
            if cut > 0:
                text = text[:cut] + "\n  " + text[cut + 1:]
        return text

    def abstract(self) -> str:
        rng, pool = self.rng, self.pool
        chosen = [rng.choice(pool.openings), *rng.sample(pool.sentences, rng.randint(4, 9))]
        return "  " + "\n".join(chosen) + "\n"

    def authors(self) -> tuple[str, list[list[str]]]:
        rng = self.rng
        count = min(1 + int(rng.expovariate(0.3)), 40)
        people = [(rng.choice(_LAST_NAMES), rng.choice(_FIRST_NAMES)) for _ in range(count)]
        names = [f"{first} {last}" for last, first in people]
        text = names[0] if count == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return text, [[last, first, ""] for last, first in people]

    def paper(self, year: int, month: int, seq: int, in_month: int) -> dict[str, Any]:
        rng = self.rng
        days = calendar.monthrange(year, month)[1]
        # Ids are handed out at submission, so dates rise with the sequence number.
        day = 1 + (seq - 1) * days // in_month
        created = dt.datetime(year, month, day, rng.randrange(24), rng.randrange(60), rng.randrange(60))
        versions = [created]
        while len(versions) < 5 and rng.random() < 0.35:
            later = versions[-1] + dt.timedelta(days=rng.randint(1, 200), seconds=rng.randrange(86400))
            if later.date() > self.last_day:
                break
            versions.append(later)
        authors, parsed = self.authors()
        primary = rng.choices(_CATEGORY_NAMES, _CATEGORY_WEIGHTS)[0]
        cross = rng.sample(_CATEGORY_NAMES, rng.choice((0, 0, 1, 1, 2)))
        categories = [primary, *(c for c in cross if c != primary)]
        pages = rng.randint(4, 40)
        return {
            "id": f"{year % 100:02d}{month:02d}.{seq:05d}",
            "submitter": f"{parsed[0][1]} {parsed[0][0]}",
            "authors": authors,
            "title": self.title(),
            "comments": rng.choice((None, f"{pages} pages", f"{pages} pages, {rng.randint(1, 12)} figures",
                                    "Accepted at NeurIPS", "Code: https://github.com/example/repo")),
            "journal-ref": None if rng.random() < 0.9 else f"Proc. {rng.choice(('ICML', 'ACL', 'CVPR'))} {year}",
            "doi": None if rng.random() < 0.85 else f"10.48550/arXiv.{year % 100:02d}{month:02d}.{seq:05d}",
            "report-no": None,
            "categories": " ".join(categories),
            "license": rng.choices(_LICENSES, _LICENSE_WEIGHTS)[0],
            "abstract": self.abstract(),
            "versions": [{"version": f"v{i + 1}", "created": _snapshot_date(v)} for i, v in enumerate(versions)],
            "update_date": versions[-1].date().isoformat(),
            "authors_parsed": parsed,
        }


def generate(size: int, seed: int = DEFAULT_SEED) -> Iterator[dict[str, Any]]:
    """`size` snapshot records in id order, spread evenly over the months 2015-01..2025-12."""
    if size < 0:
        raise ValueError(f"size must be >= 0, got {size}")
    per_month = -(-size // len(MONTHS))
    if per_month > MAX_PER_MONTH:
        raise ValueError(f"at most {MAX_PER_MONTH * len(MONTHS):,} papers fit five-digit ids, asked {size:,}")
    gen = _Generator(seed)
    # Paper i falls in month i * months // size: every month gets its share, in order.
    start = 0
    for index, (year, month) in enumerate(MONTHS):
        end = (index + 1) * size // len(MONTHS)
        in_month = end - start
        for seq in range(1, in_month + 1):
            yield gen.paper(year, month, seq, in_month)
        start = end


def write_corpus(path: Path, size: int, seed: int = DEFAULT_SEED) -> Path:
    """Write the corpus as JSON Lines, streaming; the file appears only once complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    with open(partial, "w", encoding="utf-8", buffering=1 << 20) as out:
        for record in generate(size, seed):
            out.write(json.dumps(record))
            out.write("\n")
    os.replace(partial, path)
    return path


@contextlib.contextmanager
def _building(path: Path) -> Iterator[None]:
    """Hold an exclusive lock while `path` is made: several benches (or engineers) may ask for
    the same cached file at once; the others wait for it instead of clobbering a half-built one."""
    OUT.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def corpus_path(size: int, seed: int = DEFAULT_SEED) -> Path:
    return OUT / f"corpus-{size}-s{seed}.jsonl"


def ensure_corpus(size: int, seed: int = DEFAULT_SEED) -> Path:
    """The cached corpus file of this size and seed, written on first use."""
    path = corpus_path(size, seed)
    with _building(path):
        if not path.exists():
            write_corpus(path, size, seed)
    return path


def _paper_count(db: Path) -> int:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM papers").fetchone()[0])
    except sqlite3.Error:
        return -1


def _sample_listed(db: Path) -> int:
    """How many papers the sample digest (hf-daily, SAMPLE_DATE) lists in `db`."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT COUNT(*) FROM digest_entries AS e JOIN digests AS d ON d.id = e.digest_id"
                               " WHERE d.source = 'hf-daily' AND d.date = ?", (SAMPLE_DATE,)).fetchone()
            return int(row[0])
    except sqlite3.Error:
        return -1


def _complete(db: Path, size: int, with_sample: bool) -> bool:
    return _paper_count(db) >= size and (not with_sample or _sample_listed(db) == len(sample_papers()))


def ensure_database(size: int, seed: int = DEFAULT_SEED, *, with_sample: bool = True) -> Path:
    """A Paperboy database holding the `size`-paper corpus, built once by the real `paperboy ingest`.

    With `with_sample` (the default) the 144 real papers of the sample digest are loaded too (as
    the hf-daily digest of 2025-09-09), so accuracy benchmarks can look them up among the
    synthetic ones. Treat the file as read-only: copy it before writing to it. A cached file
    with fewer papers than it should have (an interrupted build) is rebuilt.

    The generator now and then recombines a real title whole (its head and tail drawn from the
    same title, without a short name), and a sample paper with that title is the same paper to
    Paperboy (identity by title when the page gives no arXiv id): about 30 of the 144 merge into
    synthetic ones. So the sample is checked by its digest listing all 144, not by new rows.
    """
    name = f"paperboy-{size}-s{seed}{'-sample' if with_sample else ''}.db"
    path = OUT / name
    corpus = ensure_corpus(size, seed)
    with _building(path):
        if path.exists() and _complete(path, size, with_sample):
            return path
        remove_database(path)
        building = OUT / f"building-{os.getpid()}-{name}"
        remove_database(building)
        ingest = [PYTHON, "-m", "bot", "--db", str(building), "ingest"]
        check(run_child([*ingest, str(corpus)]), f"paperboy ingest {corpus.name}")
        if with_sample:
            check(run_child([*ingest, str(SAMPLE_DIGEST), "--date", SAMPLE_DATE]), "paperboy ingest (sample)")
        if not _complete(building, size, with_sample):
            raise BenchError(f"{building} holds {_paper_count(building):,} papers and "
                             f"{_sample_listed(building)} sample entries, expected {size:,} and "
                             f"{len(sample_papers()) if with_sample else 0}")
        os.replace(building, path)  # the last connection closed, so the WAL is checkpointed away
    return path
