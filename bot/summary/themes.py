"""Themes of the day: key phrases a digest uses unusually often compared with the archive.

Candidates are 1–3 word phrases inside a clause, without function words, found in at least two
papers. Each is scored by how much more often the digest's papers use it than the archive's:
`papers × log(p_digest / p_archive)`, where p_archive blends the archive's document frequency
with a flat background rate (`_PRIOR_RATE` over `_PRIOR_PAPERS` pseudo-papers). The blend is what
keeps the score sensible from an empty archive (every phrase gets the background rate, so the
most frequent non-generic phrases win) to a million papers (the archive's own rates dominate).

Phrases are compared with the archive through the index's stems ("diffusion models" and
"Diffusion Model" are one phrase), each by its exact archive frequency (a phrase query of the
index; storage.summary_stats caches the costly ones). The rarest word's frequency, an upper bound
that once stood in for it, under-rated every phrase of common words ("neural network training")
and left themes of one rare word ("lies").
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import chain

import numpy as np

from bot.arrays import contained, run_starts
from storage import summary_stats
from storage.db import Database

_PRIOR_PAPERS = 200.0  # how many archive papers the background rate is worth
_PRIOR_RATE = 0.01  # a phrase's assumed share of papers when the archive says nothing
_MIN_LIFT = math.log(1.5)  # at least 1.5 times as common in the digest as in the archive
_ABSORB = 0.7  # a longer phrase replaces a shorter one when it covers this share of its papers
EXACT_COUNTS = 5_000  # candidates counted exactly (the 144-paper sample has about 3,700)
KEEP_UP_TO = 2_000  # a digest of at most this many papers keeps each paper's words and phrases

_WORD = re.compile(r"[^\W_]+")  # what unicode61 calls a token, near enough
# Words, and the punctuation phrases never cross ("…images. Models…" is not a phrase).
_TOKEN = re.compile(r"[^\W_]+|[.,;:!?()\[\]{}\"“”'’/|$=<>+*&\\]|\s[-–—]+\s")


def _wordlist(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS = _wordlist("""
a about above across after again against all almost along also although always am among an and another
any are around as at be because been before being below between both but by can cannot could did do does
doing done down during each either else even ever every few for from further had has have having he her
here hers him his how however i if in into is it its itself just least less like many may me might more
most much must my neither no nor not now of off often on once one only onto or other others our ours out
over own per rather same several she should since so some such than that the their theirs them themselves
then there these they this those though through thus to too toward towards under unless until up upon us
very via was we well were what whatever when where whether which while who whom whose why will with
within without would yet you your yours etc e g i.e eg ie vs versus whereas hence therefore moreover
furthermore additionally specifically namely respectively instead still already due able usually
""")

# Words every abstract uses: fine inside a phrase ("language model"), never a theme on their own.
GENERIC = _wordlist("""
approach approaches method methods model models result results show shows shown showing propose proposed
proposes paper papers work works study studies new novel existing recent different various based using use
used uses task tasks performance improve improves improved improvement improvements achieve achieves
achieved state art experiment experiments experimental demonstrate demonstrates demonstrated significant
significantly framework frameworks data large small high low better best first second two three key
effective effectively efficient efficiently problem problems technique techniques present presents
introduce introduces introduced evaluate evaluation extensive benchmark benchmarks dataset datasets
training trained train learning learn learned process processing system systems application applications
set sets number way ways time times provide provides including include includes however important
further well also across compared compare comparison outperform outperforms approach framework design
designed strategy strategies end state-of-the-art thereby make makes making allow allows enable enables
enabling range general specific simple across available code release github https http www com leading
lead leads while whereas terms term various variety wide widely order often many much level levels
reduce reduces reduced reducing reduction increase increases increased require requires required computational
computation computations achieving given shows obtain obtained significant substantially overall
challenge challenges challenging address addresses addressing limited limitation limitations
enhance enhances enhanced enhancing enhancement explore explores explored exploring exploration
utilize utilizes utilized utilizing utilization leverage leverages leveraged leveraging employ employs
employed employing exploit exploits exploiting investigate investigates investigated investigating
develop develops developed developing offer offers offered offering potential potentially
strong stronger strongest weak weaker weakest larger largest smaller smallest higher highest lower
lowest faster fastest greater greatest four five six seven eight nine ten hundred thousand million
interface interfaces aspect aspects component components factor factors feature features
advance advances advanced advancing real world find finds insight insights research researchers
particularly especially typically generally mainly primarily largely highly directly recently finally
incorporate incorporates incorporated incorporating integrate integrates integrated integrating
""")


@dataclass(slots=True, frozen=True)
class Document:
    """A digest paper's text, for theme detection."""

    paper_id: int
    title: str
    abstract: str


@dataclass(slots=True, frozen=True)
class Theme:
    label: str  # the phrase as the papers most often write it
    paper_ids: tuple[int, ...]  # digest papers using it, in digest order
    score: float

    @property
    def papers(self) -> int:
        return len(self.paper_ids)


Key = tuple[str, ...]


@dataclass(slots=True)
class Candidate:
    stems: Key
    papers: list[int] = field(default_factory=list)  # digest order, no repeats
    _members: frozenset[int] | None = field(default=None, repr=False, compare=False)

    def members(self) -> frozenset[int]:
        """`papers` as a set, built once: selection compares a candidate with each chosen one."""
        if self._members is None:
            self._members = frozenset(self.papers)
        return self._members


@dataclass(slots=True)
class Prepared:
    """A digest's papers and, once `candidates` ran, each paper's stems.

    A digest of up to `KEEP_UP_TO` papers (a day of any real source) keeps each paper's words
    and phrases between the steps, so each paper is tokenised once and its phrases built once.
    A larger one does not: tokenised again where needed (counting shared words, stemming, the
    chosen themes' labels), they cost a few passes of a regex; kept for every paper of a large
    digest, gigabytes."""

    docs: tuple[Document, ...]
    # Set by `candidates`: per doc, each word's stem as a number (`numbers`), 0 where no phrase may hold it.
    keys: list[list[int]] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=dict)  # stem -> its number in `keys`, from 1
    _words: list[tuple[list[str], list[str]]] | None = None  # per doc, when kept: (as written, lower-cased)

    def __post_init__(self) -> None:
        if len(self.docs) <= KEEP_UP_TO:
            self._words = []
            for d in self.docs:
                words = _tokens(d)
                self._words.append((words, _lowered(words)))

    @property
    def keeps(self) -> bool:
        """Are the papers' words (and, in `candidates`, their phrases) kept between steps?"""
        return self._words is not None

    def words(self, index: int) -> tuple[list[str], list[str]]:
        """The paper's tokens (`_tokens`) as written and lower-cased."""
        if self._words is not None:
            return self._words[index]
        words = _tokens(self.docs[index])
        return words, _lowered(words)

    def shared_words(self) -> set[str]:
        """Words in at least two papers (the only ones a candidate can hold), and the generic words."""
        counts = Counter(chain.from_iterable(set(self.words(i)[1]) for i in range(len(self.docs))))
        return {w for w, n in counts.items() if n >= 2 and usable(w)} | GENERIC


def _tokens(doc: Document) -> list[str]:
    """A paper's words and the punctuation phrases never cross, as written: title, a break, abstract."""
    return _TOKEN.findall(f"{doc.title} . {doc.abstract}")


def _lowered(words: list[str]) -> list[str]:
    # One lower() per paper, not per word; NUL never occurs inside a token, so the split realigns.
    return "\0".join(words).lower().split("\0") if words else []


def usable(word: str) -> bool:
    """Can a phrase contain this (lower-case) token? Not stop words, numbers or punctuation."""
    return len(word) > 1 and not word[0].isdigit() and word not in STOPWORDS and _WORD.fullmatch(word) is not None


def prepare(docs: Iterable[Document]) -> Prepared:
    return Prepared(tuple(docs))


def candidates(prepared: Prepared, stems: Mapping[str, str], min_papers: int = 2) -> dict[Key, Candidate]:
    """Every phrase of 1–3 usable words found in at least `min_papers` papers.

    This is compose's hot loop, so the counting is done by numpy, in C: each stem gets a number,
    a paper becomes an array of them (0 for words no phrase may hold: phrases never cross them),
    and each 1–3-word window without a 0 becomes one integer (`_ID_BITS` bits per stem); the
    (phrase, paper) pairs are then sorted once and counted per phrase. A large digest goes
    `KEEP_UP_TO` papers at a time, counted first and its candidates' papers found in a second
    pass, so that its pairs are never all held at once (millions of them take gigabytes)."""
    numbers: dict[str, int] = {}  # stem -> its number, from 1
    table = {w: numbers.setdefault(stem, len(numbers) + 1) for w, stem in stems.items() if usable(w)}
    get = table.get
    prepared.numbers = numbers
    prepared.keys = [[get(w, 0) for w in prepared.words(i)[1]] for i in range(len(prepared.docs))]
    if len(numbers) >= 1 << _ID_BITS:
        raise ValueError(f"a digest of {len(numbers):,} distinct stems: at most {(1 << _ID_BITS) - 1:,}")
    chunks = [range(i, min(i + KEEP_UP_TO, len(prepared.docs))) for i in range(0, len(prepared.docs), KEEP_UP_TO)]
    if not chunks:
        return {}
    kept = _phrase_pairs(prepared.keys, chunks[0]) if len(chunks) == 1 else None
    counted = [_runs((kept or _phrase_pairs(prepared.keys, chunk))[0]) for chunk in chunks]
    wanted_codes, counts = _runs(np.concatenate([c for c, _ in counted]), np.concatenate([n for _, n in counted]))
    wanted_codes = wanted_codes[counts >= min_papers]
    stem_of = ["", *numbers]
    found: dict[Key, Candidate] = {}
    for chunk in chunks:
        codes, papers = kept or _phrase_pairs(prepared.keys, chunk)
        keep = contained(wanted_codes, codes)
        codes, papers = codes[keep], papers[keep]
        starts = run_starts(codes).tolist() + [len(codes)]
        ids = [prepared.docs[i].paper_id for i in papers.tolist()]
        for code, start, stop in zip(codes[starts[:-1]].tolist(), starts, starts[1:], strict=False):
            key = _decoded(code, stem_of)
            cand = found.get(key)
            if cand is None:
                found[key] = cand = Candidate(key)
            cand.papers.extend(ids[start:stop])
    return found


_ID_BITS = 21  # bits per stem in a phrase's number: 3 stems fit 63 bits
_LOW = (1 << _ID_BITS) - 1


def _phrase_pairs(keys: list[list[int]], chunk: range) -> tuple[np.ndarray, np.ndarray]:
    """The (phrase number, paper index) pairs of these papers, each once, by number then paper."""
    flat: list[int] = []
    for i in chunk:
        flat += keys[i]
        flat.append(0)  # after each paper: no phrase spans two
    ids = np.array(flat, dtype=np.int64)
    lengths = [len(keys[i]) + 1 for i in chunk]
    paper = np.repeat(np.arange(chunk.start, chunk.stop), lengths)
    one, two, three = ids, ids[:-1] << _ID_BITS | ids[1:], ids[:-2] << 2 * _ID_BITS | ids[1:-1] << _ID_BITS | ids[2:]
    whole = (one > 0, (ids[:-1] > 0) & (ids[1:] > 0), (ids[:-2] > 0) & (ids[1:-1] > 0) & (ids[2:] > 0))
    codes = np.concatenate((one[whole[0]], two[whole[1]], three[whole[2]]))
    papers = np.concatenate((paper[whole[0]], paper[:-1][whole[1]], paper[:-2][whole[2]]))
    if not len(codes):
        return codes, papers
    order = np.lexsort((papers, codes))
    codes, papers = codes[order], papers[order]
    first = np.concatenate(([True], (codes[1:] != codes[:-1]) | (papers[1:] != papers[:-1])))
    return codes[first], papers[first]


def _runs(codes: np.ndarray, counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The distinct numbers of `codes` and how many times each occurs (or the sum of its `counts`)."""
    order = np.argsort(codes, kind="stable")
    codes = codes[order]
    weights = np.ones(len(codes), dtype=np.int64) if counts is None else counts[order]
    starts = run_starts(codes)
    return codes[starts], np.add.reduceat(weights, starts)


def _decoded(code: int, stem_of: list[str]) -> Key:
    if code <= _LOW:
        return (stem_of[code],)
    if code <= _LOW << _ID_BITS | _LOW:
        return (stem_of[code >> _ID_BITS], stem_of[code & _LOW])
    return (stem_of[code >> 2 * _ID_BITS], stem_of[code >> _ID_BITS & _LOW], stem_of[code & _LOW])


def _contains(longer: Key, shorter: Key) -> bool:
    n = len(shorter)
    return any(longer[i:i + n] == shorter for i in range(len(longer) - n + 1))


def _related(a: str, b: str) -> bool:
    """Stems of one word family that the stemmer leaves apart ("speed" and "speedup")."""
    short, long = sorted((a, b), key=len)
    return len(short) >= 4 and long.startswith(short)


def _overlap(a: Candidate, b: Candidate) -> bool:
    if _contains(a.stems, b.stems) or _contains(b.stems, a.stems):
        return True
    if len(a.stems) == len(b.stems) == 1 and _related(a.stems[0], b.stems[0]):
        return True
    if not set(a.stems) & set(b.stems):
        return False
    shared = len(a.members() & b.members())
    return shared >= 0.5 * min(len(a.papers), len(b.papers))


def _labels(chosen: list[Candidate], prepared: Prepared) -> list[str]:
    """Each phrase as its papers most often write it: their words are read again, once per paper."""
    forms: list[Counter[str]] = [Counter() for _ in chosen]
    has: dict[int, list[int]] = {}  # paper id -> the chosen phrases it holds
    for j, cand in enumerate(chosen):
        for pid in cand.papers:
            has.setdefault(pid, []).append(j)
    for index, (doc, keys) in enumerate(zip(prepared.docs, prepared.keys, strict=True)):
        which = has.get(doc.paper_id)
        if not which:
            continue
        words, in_title = prepared.words(index)[0], len(_TOKEN.findall(doc.title))
        for j in which:
            stems = tuple(prepared.numbers[s] for s in chosen[j].stems)
            first, n, i = stems[0], len(stems), -1
            while True:
                try:
                    i = keys.index(first, i + 1)  # a scan in C, from the last match on: linear per paper
                except ValueError:
                    break
                if tuple(keys[i:i + n]) == stems:
                    # Abstracts weigh double: they write "diffusion models" where titles write "Diffusion Models".
                    forms[j][" ".join(words[i:i + n])] += 1 if i < in_title else 2
    return [_commonest(f) if f else " ".join(c.stems) for f, c in zip(forms, chosen, strict=True)]


def _commonest(forms: Counter[str]) -> str:
    # On a tie prefer the lower-case form.
    return max(forms, key=lambda f: (forms[f], f == f.lower(), f))


def select(prepared: Prepared, stems: Mapping[str, str], found: Mapping[Key, Candidate], *,
           archive_df: Mapping[str, int], archive_papers: int, max_themes: int = 6,
           phrase_df: Mapping[Key, int] | None = None) -> list[Theme]:
    """The best `max_themes` non-overlapping phrases, each preferring its longer form when that
    covers most of the same papers. `archive_df` (per stem) and `archive_papers` include the
    digest's own papers. `phrase_df` gives exact per-phrase counts (what `find` passes); without
    it a phrase is rated by its rarest word's count, an upper bound."""
    digest_papers = len(prepared.docs)
    if digest_papers == 0 or max_themes <= 0:
        return []
    generic = {stems[w] for w in GENERIC if w in stems}
    # The digest is already in the archive: compare it with the rest of the archive.
    others = max(archive_papers - digest_papers, 0)
    own = {key[0]: len(c.papers) for key, c in found.items() if len(key) == 1}
    background = _PRIOR_RATE * _PRIOR_PAPERS

    def rate(key: Key) -> float:
        if phrase_df is not None:
            df = max(phrase_df.get(key, 0) - len(found[key].papers), 0)
        else:
            df = min(max(archive_df.get(s, 0) - own.get(s, 0), 0) for s in key)
        return (df + background) / (others + _PRIOR_PAPERS)

    scored: list[tuple[float, Candidate]] = []
    for key, cand in found.items():
        if all(s in generic for s in key):
            continue
        lift = math.log(len(cand.papers) / digest_papers / rate(key))
        if lift >= _MIN_LIFT:
            scored.append((len(cand.papers) * lift, cand))
    scored.sort(key=lambda sc: (-sc[0], -len(sc[1].stems), sc[1].stems))
    score_of = {c.stems: s for s, c in scored}
    longer: dict[Key, list[Candidate]] = {}
    for _, cand in scored:
        for n in range(1, len(cand.stems)):
            for i in range(len(cand.stems) - n + 1):
                longer.setdefault(cand.stems[i:i + n], []).append(cand)

    chosen: list[Candidate] = []
    for _, cand in scored:
        wider = [w for w in longer.get(cand.stems, ()) if len(w.papers) >= _ABSORB * len(cand.papers)]
        best = max(wider, key=lambda w: (len(w.papers), len(w.stems), score_of[w.stems]), default=cand)
        if any(_overlap(best, c) for c in chosen):
            continue
        chosen.append(best)
        if len(chosen) == max_themes:
            break
    return [Theme(label, tuple(c.papers), round(score_of[c.stems], 3))
            for label, c in zip(_labels(chosen, prepared), chosen, strict=True)]


def assign(themes: list[Theme], paper_ids: Iterable[int]) -> dict[int, int | None]:
    """Each paper's theme (index into `themes`, the best-scored that includes it), None for the rest.

    One pass over the themes' papers into a dict: a test of each paper against each theme's
    tuple would be quadratic in the digest's size."""
    best: dict[int, int] = {}
    for i, theme in enumerate(themes):
        for pid in theme.paper_ids:
            best.setdefault(pid, i)
    return {pid: best.get(pid) for pid in paper_ids}


def _phrases(docs: Iterable[Document]) -> tuple[Prepared, dict[str, str], dict[Key, Candidate]]:
    prepared = prepare(docs)
    stems = summary_stats.stem_words(prepared.shared_words())
    return prepared, stems, candidates(prepared, stems)


def _counted(found: Mapping[Key, Candidate]) -> Collection[Key]:
    """The candidates counted exactly: all, or for a very large digest (a snapshot's tens of
    thousands of papers have millions) the `EXACT_COUNTS` most widely used."""
    if len(found) <= EXACT_COUNTS:
        return found.keys()
    return sorted(found, key=lambda k: (-len(found[k].papers), k))[:EXACT_COUNTS]


def counted_phrases(docs: Iterable[Document]) -> set[Key]:
    """The candidate phrases whose archive counts `find` takes for `docs` (and caches, if costly)."""
    return set(_counted(_phrases(docs)[2]))


async def find(db: Database, docs: Iterable[Document], *, max_themes: int = 6, cache: bool = True) -> list[Theme]:
    """The themes of `docs` (a digest already in the archive), scored with each candidate phrase's
    exact archive count: one stemming pass, one vocabulary lookup, the phrases' counts (cached
    where costly, see storage.summary_stats.phrase_document_counts; `cache=False` counts all live).

    The in-memory work grows with the digest (seconds for tens of thousands of papers) and runs
    in a worker thread, so the event loop keeps answering meanwhile."""
    prepared, stems, found = await asyncio.to_thread(_phrases, docs)
    size = await summary_stats.archive_size(db)
    terms = {s for key in found for s in key}
    words: dict[str, set[str]] = {}
    for word, stem in stems.items():
        if stem in terms:
            words.setdefault(stem, set()).add(word)
    df = await summary_stats.term_document_counts(db, terms, archive_papers=size, words=words, cache=cache)
    # The candidates not counted exactly (a very large digest's) keep their upper bound.
    exact = _counted(found)
    phrase_df: dict[Key, int] = {}
    if len(exact) < len(found):
        phrase_df = {k: min(df.get(s, 0) for s in k) for k in found}
    phrase_df.update(await summary_stats.phrase_document_counts(db, exact, words=words, term_counts=df,
                                                                archive_papers=size, cache=cache))
    return await asyncio.to_thread(select, prepared, stems, found, archive_df=df, archive_papers=size,
                                   max_themes=max_themes, phrase_df=phrase_df)
