"""The in-memory title index: postings per term, candidates by weighted term overlap, fuzzy re-rank.

Why this shape: brute-force fuzzy scoring of every title is too slow for a keystroke at archive
sizes and is easily fooled by titles that share most of their words. Here a query's words (each
expanded to near spellings found in the vocabulary) pick a few hundred candidates through the
postings, rarest words first with a bound on the postings walked, and only those candidates are
scored with rapidfuzz against the full text. Ties (the same short name on several papers) go to
the most recently listed paper: "that paper" is usually one a digest showed lately. The postings
are summed with numpy, in C: a walk in Python was two thirds of a look-up at 1M titles.

Memory is kept compact for a million titles: postings are `array('I')` of paper ids, titles live
UTF-8 encoded in one bytearray indexed by paper id. All methods are thread-safe (one lock): long
look-ups can run in a worker thread, and a caller on an event loop (autocomplete) uses
`search_if_free`, which never waits for the lock.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import sys
import threading
import zlib
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from bot.arrays import contained, kth_largest, run_starts
from bot.lookup.text import STOP_WORDS, Words, index_terms, split_words, title_forms
from storage.lookup import TitleRow

# Postings entries walked exhaustively per query; rarer words go first, commoner words are then
# only checked against the best candidates (binary search in their postings).
POSTINGS_BUDGET = 40_000
POOL_SIZE = 1_500  # candidates kept after the rare words, before checking the common ones
RERANK_SIZE = 200  # candidates scored with rapidfuzz
PHRASE_WEIGHT = 0.05  # of the phrase alignment (0..100) in a candidate's score: at most 5 points
FUZZY_VARIANTS = 6  # near spellings tried per unknown query word
PREFIX_VARIANTS = 12  # completions tried for the word being typed (autocomplete)


@dataclass(frozen=True, slots=True)
class IndexImage:
    """An index as a few byte strings, to persist and load back without re-tokenising every title.

    `parts` holds the vocabulary, the postings (one array of ids, cut by the per-term sizes), the
    titles' bytes and the per-id arrays; `checks` a CRC-32 of each part, so a damaged copy is
    refused rather than loaded.
    """

    last_id: int
    count: int
    parts: dict[str, bytes]
    checks: dict[str, int]
    layout: str  # byte order and item sizes: an image is only read back on the same kind of machine


class ImageError(ValueError):
    """An index image that cannot be loaded: damaged, incomplete or from another layout."""


def _layout() -> str:
    return f"{sys.byteorder}:I{array('I').itemsize}:Q{array('Q').itemsize}:i{array('i').itemsize}"


def _array(typecode: str, data: bytes, what: str) -> array[int]:
    found = array(typecode)
    if len(data) % found.itemsize:
        raise ImageError(f"index image: {what} is {len(data)} bytes, not whole items")
    found.frombytes(data)
    return found


@dataclass(frozen=True, slots=True)
class TitleMatch:
    paper_id: int
    title: str
    score: float  # 0..100
    first_listed: dt.date | None


@dataclass(slots=True)
class _Slot:
    """One query word and the vocabulary terms standing for it, each with its weight."""

    alternatives: list[tuple[str, float]]
    weight: float  # what a full match is worth (counts towards coverage)
    size: int  # postings entries to walk


def _max_typos(word: str) -> int:
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2


class TitleIndex:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._postings: dict[str, array[int]] = {}
        self._by_length: dict[int, list[str]] = {}
        self._sorted_terms: list[str] | None = None  # for prefix completion, rebuilt lazily
        self._blob = bytearray()
        self._start = array("Q")  # by paper id: where its UTF-8 title starts in _blob
        self._length = array("I")  # by paper id: its byte length; 0 = no such paper
        self._listed = array("i")  # by paper id: first_listed as a proleptic ordinal, 0 = unknown
        self._count = 0
        self._reindexed: set[int] = set()  # papers whose title changed: their old words linger in postings
        self._sums: tuple[np.ndarray, np.ndarray] | None = None  # a search's scratch (`_scratch`)
        self.last_id = 0  # highest paper id added

    def __len__(self) -> int:
        return self._count

    # -- building ---------------------------------------------------------------------------------

    def add(self, rows: Iterable[TitleRow]) -> int:
        """Index papers (new or with a changed title). Returns how many were added."""
        added = 0
        with self._lock:
            for row in rows:
                self._add_one(row)
                added += 1
        return added

    def _add_one(self, row: TitleRow) -> None:
        pid = row.paper_id
        in_order = pid > self.last_id
        if pid < len(self._length) and self._length[pid]:
            # A changed title: its old words stay in the postings (harmless: candidates are
            # re-scored from the current title) but the paper is no longer new.
            self._count -= 1
            self._reindexed.add(pid)
        self._grow(pid)
        encoded = row.title.encode("utf-8")
        self._start[pid] = len(self._blob)
        self._length[pid] = len(encoded) or 1
        self._blob += encoded or b" "
        self._listed[pid] = row.first_listed.toordinal() if row.first_listed else 0
        self._count += 1
        postings = self._postings
        for term in index_terms(row.title):
            found = postings.get(term)
            if found is None:
                postings[term] = array("I", (pid,))
                self._by_length.setdefault(len(term), []).append(term)
                self._sorted_terms = None
            elif in_order:
                found.append(pid)
            else:
                at = bisect_left(found, pid)
                if at == len(found) or found[at] != pid:
                    found.insert(at, pid)  # postings stay sorted for the binary searches below
        if in_order:
            self.last_id = pid

    def _grow(self, pid: int) -> None:
        missing = pid + 1 - len(self._length)
        if missing > 0:
            # Ids are dense (SQLite rowids), so by-id arrays waste little.
            extra = max(missing, len(self._length) // 4)
            self._start.extend(array("Q", bytes(8 * extra)))
            self._length.extend(array("I", bytes(4 * extra)))
            self._listed.extend(array("i", bytes(4 * extra)))

    def remove(self, paper_ids: Iterable[int]) -> None:
        """Forget papers (deleted, or merged into another)."""
        with self._lock:
            for pid in paper_ids:
                if 0 <= pid < len(self._length) and self._length[pid]:
                    self._length[pid] = 0
                    self._count -= 1

    def holds(self, row: TitleRow) -> bool:
        """Whether the paper is indexed with this title and listing date (adding it changes nothing)."""
        with self._lock:
            listed = row.first_listed.toordinal() if row.first_listed else 0
            pid = row.paper_id
            return (0 <= pid < len(self._listed) and self._listed[pid] == listed
                    and self._title(pid) == row.title.strip())

    def title(self, paper_id: int) -> str | None:
        with self._lock:
            return self._title(paper_id)

    def _title(self, pid: int) -> str | None:
        if not (0 <= pid < len(self._length)) or not self._length[pid]:
            return None
        start = self._start[pid]
        return self._blob[start:start + self._length[pid]].decode("utf-8").strip()

    # -- persisting -------------------------------------------------------------------------------

    def image(self) -> IndexImage:
        """The index as bytes (see `IndexImage`); `from_image` gives back an equal index."""
        with self._lock:
            size = self.last_id + 1
            self._grow(self.last_id)  # an empty index has no per-id arrays yet
            terms = list(self._postings)
            lists = [self._postings[t] for t in terms]
            parts = {
                "terms": "\n".join(terms).encode("utf-8"),
                "sizes": array("I", map(len, lists)).tobytes(),
                "postings": b"".join(a.tobytes() for a in lists),
                "titles": bytes(self._blob),
                "start": self._start[:size].tobytes(),
                "length": self._length[:size].tobytes(),
                "listed": self._listed[:size].tobytes(),
                "reindexed": array("I", sorted(self._reindexed)).tobytes(),
            }
            count, last_id = self._count, self.last_id
        return IndexImage(last_id, count, parts, {k: zlib.crc32(v) for k, v in parts.items()}, _layout())

    @classmethod
    def from_image(cls, image: IndexImage) -> TitleIndex:
        """The index an image was taken of. Raises `ImageError` for a damaged or foreign image."""
        if image.layout != _layout():
            raise ImageError(f"index image: layout {image.layout!r}, this machine uses {_layout()!r}")
        parts = image.parts
        for name in ("terms", "sizes", "postings", "titles", "start", "length", "listed", "reindexed"):
            if name not in parts:
                raise ImageError(f"index image: part {name!r} is missing")
            if zlib.crc32(parts[name]) != image.checks.get(name):
                raise ImageError(f"index image: part {name!r} is damaged (checksum differs)")
        index = cls()
        terms = parts["terms"].decode("utf-8").split("\n") if parts["terms"] else []
        sizes = _array("I", parts["sizes"], "sizes")
        ids = _array("I", parts["postings"], "postings")
        if len(sizes) != len(terms) or sum(sizes) != len(ids):
            raise ImageError("index image: the vocabulary, postings sizes and postings disagree")
        postings = index._postings
        by_length = index._by_length
        at = 0
        for term, n in zip(terms, sizes, strict=True):
            postings[term] = ids[at:at + n]
            at += n
            by_length.setdefault(len(term), []).append(term)
        index._blob = bytearray(parts["titles"])
        index._start = _array("Q", parts["start"], "start")
        index._length = _array("I", parts["length"], "length")
        index._listed = _array("i", parts["listed"], "listed")
        size = image.last_id + 1
        if not (len(index._start) == len(index._length) == len(index._listed) == size):
            raise ImageError(f"index image: per-id arrays are not {size} long")
        if size > 1 and max(index._start) > len(index._blob):
            raise ImageError("index image: a title starts past the end of the titles")
        index._reindexed = set(_array("I", parts["reindexed"], "reindexed"))
        index._count = image.count
        index.last_id = image.last_id
        return index

    # -- searching --------------------------------------------------------------------------------

    def search(self, query: str, limit: int = 10, *, prefix: bool = False, since: int = 0) -> list[TitleMatch]:
        """The best `limit` papers for a noisy title, best first. `prefix`: the last word may be
        unfinished (autocomplete). `since`: only papers with a higher id (those added after a
        search whose answer is kept: a few postings' tails, so it costs little); their scores are
        what a whole search gives them."""
        words = split_words(query[:500])
        if not words.words or limit < 1:
            return []
        with self._lock:
            slots = self._slots(words, prefix=prefix)
            if since:
                for slot in slots:
                    slot.size = sum(len(ids) - bisect_right(ids, since)
                                    for ids in (self._postings[t] for t, _ in slot.alternatives))
            if not slots:
                return []
            near = len(query[:500].encode("utf-8"))
            pids, weights = self._top(*self._candidates(slots, near, prefix=prefix, since=since), RERANK_SIZE, near)
            total = sum(s.weight for s in slots) or 1.0
            coverage = {pid: min(s / total, 1.0) for pid, s in zip(pids.tolist(), weights.tolist(), strict=True)}
            rows = [(pid, t, self._listed[pid]) for pid in coverage if (t := self._title(pid)) is not None]
            for pid, title, _ in rows:
                if pid in self._reindexed:
                    coverage[pid] = min(_matched_weight(slots, index_terms(title)) / total, 1.0)
        return _rerank(query, words, rows, coverage, limit)

    def search_if_free(self, query: str, limit: int = 10, *, prefix: bool = False) -> list[TitleMatch] | None:
        """`search`, or None at once when another thread holds the index (a build, a big batch
        of a load, a snapshot image): for a caller on an event loop, which must not block on that."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            return self.search(query, limit, prefix=prefix)
        finally:
            self._lock.release()

    def _idf(self, df: int) -> float:
        return math.log(1.0 + (self._count + 1) / (df + 0.5))

    def _slots(self, words: Words, *, prefix: bool) -> list[_Slot]:
        content = [w for w in words.words if w not in STOP_WORDS] or list(words.words)
        seen: set[str] = set()
        slots: list[_Slot] = []
        last = content[-1]
        for word in content:
            if word in seen:
                continue
            seen.add(word)
            alternatives = self._alternatives(word, completing=prefix and word == last)
            top_weight = self._idf(1)  # an unknown word weighs like the rarest: its absence counts
            if alternatives:
                top_weight = max(w for _, w in alternatives)
            slots.append(_Slot(alternatives, top_weight, sum(len(self._postings[t]) for t, _ in alternatives)))
        # Bonus terms: a short name typed in pieces ("dKV Cache", "flash attention") or hyphenated.
        bonus = list(words.joined) + [a + b for a, b in zip(words.words, words.words[1:], strict=False)]
        if 1 < len(words.words) <= 4:
            bonus.append("".join(words.words))
        for term in bonus:
            found = self._postings.get(term)
            if found is not None and term not in seen:
                seen.add(term)
                slots.append(_Slot([(term, self._idf(len(found)))], 0.0, len(found)))
        if prefix and len(words.words) >= 2 and len(words.words[-2]) >= 2:
            # A name being typed in pieces: "flash att" completes to "flashattention".
            joined = self._completions(words.words[-2] + words.words[-1])
            if joined:
                slots.append(_Slot(joined, 0.0, sum(len(self._postings[t]) for t, _ in joined)))
        return [s for s in slots if s.alternatives or s.weight]

    def _alternatives(self, word: str, *, completing: bool) -> list[tuple[str, float]]:
        found = self._postings.get(word)
        alternatives: list[tuple[str, float]] = []
        if found is not None:
            alternatives.append((word, self._idf(len(found))))
        typos = _max_typos(word)
        if found is None and typos:
            for length in range(len(word) - typos, len(word) + typos + 1):
                bucket = self._by_length.get(length)
                if not bucket:
                    continue
                for term, distance, _ in process.extract(word, bucket, scorer=Levenshtein.distance,
                                                         score_cutoff=typos, limit=FUZZY_VARIANTS):
                    sim = 1.0 - 0.15 * distance
                    alternatives.append((term, sim * self._idf(len(self._postings[term]))))
            alternatives = sorted(alternatives, key=lambda a: -a[1])[:FUZZY_VARIANTS]
        if completing and len(word) >= 2:
            alternatives += [alt for alt in self._completions(word) if alt[0] != word]
        return alternatives

    def _completions(self, start: str) -> list[tuple[str, float]]:
        """Vocabulary terms starting with `start`, the commonest first (rarely-used ones are noise
        while typing), each weighted a little below a whole word."""
        terms = self._terms_sorted()
        at = bisect_left(terms, start)
        stop = bisect_right(terms, start + "\uffff", lo=at)
        completions = sorted(terms[at:stop], key=lambda t: -len(self._postings[t]))[:PREFIX_VARIANTS]
        return [(term, 0.9 * self._idf(len(self._postings[term]))) for term in completions]

    def _terms_sorted(self) -> list[str]:
        if self._sorted_terms is None:
            self._sorted_terms = sorted(self._postings)
        return self._sorted_terms

    def _top(self, ids: np.ndarray, weights: np.ndarray, k: int, near: int) -> tuple[np.ndarray, np.ndarray]:
        """The `k` best papers of (ids, weights), ids ascending, as (ids, weights) in no particular order.

        Every paper weighing more than the k-th best weight is kept. Weights are sums of a few word
        weights, so many papers tie at that cut: the newest of them go first, except that titles as
        long as the query (`near` bytes, give or take 3) get up to a quarter of the places: a whole
        title typed out must not be cut for hundreds of newer, longer titles that merely contain
        its words.
        """
        if len(ids) <= k:
            return ids, weights
        cut = kth_largest(weights, k)
        above = weights > cut
        kept = weights[above]
        tied = ids[weights == cut][::-1]  # newest first
        places = k - len(kept)
        lengths = np.frombuffer(self._length, dtype=np.uint32)
        try:
            near_length = np.abs(lengths[tied].astype(np.int64) - near) <= 3
        finally:
            del lengths  # a view: the array cannot grow while one is alive
        same_length = np.flatnonzero(near_length)[:places // 4]
        rest = np.ones(len(tied), dtype=bool)
        rest[same_length] = False
        chosen = np.concatenate((ids[above], tied[same_length], tied[rest][:places - len(same_length)]))
        return chosen, np.concatenate((kept, np.full(len(chosen) - len(kept), cut)))

    def _candidates(self, slots: list[_Slot], near: int, *, prefix: bool = False,
                    since: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Papers (ids ascending) and the weight of the query words each contains (fuzzy variants
        count once), as two arrays.

        Slots are walked rarest first, exhaustively, until POSTINGS_BUDGET postings entries; the
        pool is then cut to its best POOL_SIZE and the remaining (common) words only checked
        against those. A single word commoner than the budget walks its newest postings only.
        `prefix`: a word with several alternatives (the completions of a word being typed, "mode"
        → model, models, modeling…) likewise walks only the newest papers' postings once together
        they exceed the budget; unbounded, a short common prefix would walk hundreds of thousands
        of entries at 1M titles on every keystroke.

        The sums are taken in a scratch array indexed by paper id (numpy, in C): per paper, the
        same additions in the same order as a dict of running sums, so ties are exactly ties.
        """
        budget = POSTINGS_BUDGET
        total, best = self._scratch()
        walked_ids: list[np.ndarray] = []
        walked = 0
        deferred: list[_Slot] = []
        try:
            for slot in sorted(slots, key=lambda s: s.size):
                if not slot.alternatives:
                    continue
                if walked and walked + slot.size > budget:
                    deferred.append(slot)
                    continue
                walked += slot.size
                if len(slot.alternatives) == 1:
                    term, weight = slot.alternatives[0]
                    ids = self._postings[term]
                    # A query of common words only: the newest papers.
                    found = _ids(ids, max(bisect_right(ids, since) if since else 0, len(ids) - budget))
                    total[found] += weight
                    walked_ids.append(found)
                    continue
                newest = max(since, self._newest_cut(slot, budget) if prefix and slot.size > budget else 0)
                parts = []
                # Lightest alternative first, so each paper ends up with its best one's weight.
                for term, weight in sorted(slot.alternatives, key=lambda a: a[1]):
                    ids = self._postings[term]
                    found = _ids(ids, bisect_right(ids, newest) if newest else 0)
                    best[found] = weight
                    parts.append(found)
                found = np.concatenate(parts)
                total[found] += best[found]  # a paper listed twice is still added once
                best[found] = 0.0
                walked_ids.append(found)
            pids = _distinct(np.concatenate(walked_ids)) if walked_ids else np.zeros(0, dtype=np.uint32)
            weights = total[pids]
            total[pids] = 0.0
        except BaseException:
            self._sums = None  # left dirty: the next search starts from a fresh one
            raise
        if deferred:
            if len(pids) > POOL_SIZE:
                pids, weights = self._top(pids, weights, POOL_SIZE, near)
                ascending = np.argsort(pids)
                pids, weights = pids[ascending], weights[ascending]
            for slot in deferred:
                # Each paper gains its best alternative's weight (lightest first, the heaviest wins).
                gained = np.zeros(len(pids))
                for term, weight in sorted(slot.alternatives, key=lambda a: a[1]):
                    gained[self._members(term, pids)] = weight
                weights = weights + gained  # + 0.0 leaves a weight exactly as it was
        return pids, weights

    def _scratch(self) -> tuple[np.ndarray, np.ndarray]:
        """Two zeroed arrays of float64 by paper id (the running sums and a slot's best weights),
        kept between searches (the lock is held) and zeroed again by the search that used them."""
        size = self.last_id + 1
        if self._sums is None or len(self._sums[0]) < size:
            size += size // 4
            self._sums = (np.zeros(size), np.zeros(size))
        return self._sums

    def _members(self, term: str, pids: np.ndarray) -> np.ndarray:
        """Where in `pids` (ascending) the papers whose titles hold `term` are: a binary search of
        each in the term's postings, in C."""
        postings = np.frombuffer(self._postings[term], dtype=np.uint32)
        try:
            return np.flatnonzero(contained(postings, pids))
        finally:
            del postings  # a view: the postings cannot grow while one is alive

    def warm(self) -> None:
        """Ready what a first search would otherwise build: the sorted vocabulary that completes a
        word being typed, and the search's scratch arrays."""
        with self._lock:
            self._terms_sorted()
            self._scratch()

    def _newest_cut(self, slot: _Slot, budget: int) -> int:
        """The paper id above which the slot's postings hold at most `budget` entries."""
        lists = [self._postings[term] for term, _ in slot.alternatives]
        low, high = 0, self.last_id
        while low < high:  # the smallest cut leaving at most the budget (ids are sorted per term)
            mid = (low + high) // 2
            if sum(len(ids) - bisect_right(ids, mid) for ids in lists) > budget:
                low = mid + 1
            else:
                high = mid
        return low


def _ids(postings: array[int], start: int) -> np.ndarray:
    """Postings from `start` on, as a numpy array of their own (a copy: a view would stop the
    postings from growing for as long as it lived)."""
    return np.frombuffer(postings[start:], dtype=np.uint32)


def _distinct(ids: np.ndarray) -> np.ndarray:
    """The distinct ids, ascending (np.unique's hashing is an order of magnitude slower here)."""
    ids = np.sort(ids)
    distinct: np.ndarray = ids[run_starts(ids)]
    return distinct


def _matched_weight(slots: list[_Slot], terms: set[str]) -> float:
    """What a title with these terms scores in `_candidates` (for titles whose postings are stale)."""
    return sum(max((w for t, w in s.alternatives if t in terms), default=0.0) for s in slots)


# Successive keystrokes of one title (and look-ups of the papers a digest just showed) re-rank
# mostly the same candidates: their folded forms are kept (at most maxsize of them) rather than
# re-derived on every look-up. lru_cache is thread-safe.
_title_forms = functools.lru_cache(maxsize=20_000)(title_forms)


def _rerank(query: str, words: Words, rows: list[tuple[int, str, int]], coverage: dict[int, float],
            limit: int) -> list[TitleMatch]:
    """Blend word coverage with rapidfuzz similarity of the whole text; ties go to the newest listing.

    A title that contains everything typed scores the same however many words it adds (the user
    typed a fragment, or the short name), so such ties fall to the most recent paper; only a
    near-exact match of the whole title (in any order) or of its short name earns more.
    Each similarity is computed for all the candidates in one call (`process.cdist`, in C).
    """
    if not rows:
        return []
    q_plain = " ".join(words.words)
    q_compact = "".join(words.words)
    forms = [_title_forms(title) for _, title, _ in rows]
    plains = [t_plain for t_plain, _ in forms]
    # Order-free, so a title typed with its name moved to the end still counts as whole.
    whole = _similarity(fuzz.token_sort_ratio, q_plain, plains)
    named = [i for i, (_, short_name) in enumerate(forms) if short_name]
    if named and len(q_compact) >= 2:
        whole[named] = np.maximum(whole[named], _similarity(fuzz.ratio, q_compact, [forms[i][1] or "" for i in named]))
    exact = np.maximum(0.0, whole - 80.0) * 5.0
    covered = np.array([coverage[pid] for pid, _, _ in rows])
    together = _similarity(fuzz.token_set_ratio, q_plain, plains)
    # The words typed in order and side by side in the title (a fragment remembered as a phrase)
    # beat the same words scattered; typos are tolerated (character alignment). (A query longer
    # than the title is not a fragment of it: plain similarity then.) This alignment is the
    # costly score, and adds at most 100 x PHRASE_WEIGHT: it is only computed for the candidates that
    # could still reach the best `limit` with it (the others score a clear 0.1 below them, rounded).
    phrase = np.zeros(len(rows))
    known = 60.0 * covered + 0.2 * together + 0.15 * exact
    open_ = np.ones(len(rows), dtype=bool)
    if len(rows) > limit:
        cut = kth_largest(known, limit)  # `limit` candidates score at least this
        open_ = known + 100.0 * PHRASE_WEIGHT >= cut - 0.2
    longer = np.array([len(q_plain) > len(t_plain) for t_plain in plains])
    for scorer, which in ((fuzz.partial_ratio, np.flatnonzero(open_ & ~longer)),
                          (fuzz.ratio, np.flatnonzero(open_ & longer))):
        if len(which):
            phrase[which] = _similarity(scorer, q_plain, [plains[i] for i in which])
    score = 60.0 * covered + 0.2 * together + PHRASE_WEIGHT * phrase + 0.15 * exact
    scored = [(round(s, 1), listed, pid, title)
              for s, (pid, title, listed), kept in zip(score.tolist(), rows, open_.tolist(), strict=True) if kept]
    scored.sort(key=lambda s: (s[0], s[1], s[2]), reverse=True)
    return [TitleMatch(pid, title, score, dt.date.fromordinal(listed) if listed else None)
            for score, listed, pid, title in scored[:limit]]


def _similarity(scorer: Callable[..., float], query: str, choices: list[str]) -> np.ndarray:
    """`scorer(query, choice)` for every choice, as float64 (the values the scorer itself returns)."""
    scores: np.ndarray = process.cdist([query], choices, scorer=scorer, dtype=np.float64)[0]
    return scores
