"""The in-memory title index: postings per term, candidates by weighted term overlap, fuzzy re-rank.

Why this shape: brute-force fuzzy scoring of every title is too slow for a keystroke at archive
sizes and is easily fooled by titles that share most of their words. Here a query's words (each
expanded to near spellings found in the vocabulary) pick a few hundred candidates through the
postings, rarest words first with a bound on the postings walked, and only those candidates are
scored with rapidfuzz against the full text. Ties (the same short name on several papers) go to
the most recently listed paper: "that paper" is usually one a digest showed lately.

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
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import compress, islice, repeat
from operator import and_, lshift, rshift

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from bot.lookup.text import STOP_WORDS, Words, index_terms, split_words, title_forms
from storage.lookup import TitleRow

# Postings entries walked exhaustively per query; rarer words go first, commoner words are then
# only checked against the best candidates (binary search in their postings).
POSTINGS_BUDGET = 40_000
POOL_SIZE = 1_500  # candidates kept after the rare words, before checking the common ones
RERANK_SIZE = 200  # candidates scored with rapidfuzz
FUZZY_VARIANTS = 6  # near spellings tried per unknown query word
PREFIX_VARIANTS = 12  # completions tried for the word being typed (autocomplete)
# Common words' postings checked against the pool are looked up in a bitmap of paper ids (built by
# `warm_bitmaps` or on first use, kept current as papers are added) instead of by binary search; at
# most BITMAP_BYTES of them. Only for words in at least one title in BITMAP_SHARE, so that a bitmap
# (a bit per paper: 125 kB at 1M) takes at most twice the memory of the word's postings.
BITMAP_MIN = 8192
BITMAP_SHARE = 64
BITMAP_BYTES = 64 << 20


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
        self._bitmaps: OrderedDict[str, bytearray] = OrderedDict()  # by term, least recently used first
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
            if self._bitmaps and (bits := self._bitmaps.get(term)) is not None:
                _set_bit(bits, pid)
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
            pool = self._candidates(slots, near, prefix=prefix, since=since)
            total = sum(s.weight for s in slots) or 1.0
            ranked = self._top(pool, RERANK_SIZE, near)
            rows = [(pid, t, self._listed[pid]) for pid, _ in ranked if (t := self._title(pid)) is not None]
            coverage = {pid: min(s / total, 1.0) for pid, s in ranked}
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

    def _top(self, pool: dict[int, float], k: int, near: int) -> list[tuple[int, float]]:
        """The `k` best (paper, weight) pairs, in no particular order.

        Weights are sums of a few word weights, so they take few distinct values: counting them
        finds the cut-off in one pass, where a heap keyed on (weight, id) would churn on every
        tied paper. Among papers tied at the cut the newest go first, except that titles as long as
        the query (`near` bytes, give or take 3) get up to a quarter of the places: a whole title
        typed out must not be cut for hundreds of newer, longer titles that merely contain its words.
        """
        if len(pool) <= k:
            return list(pool.items())
        counts = Counter(pool.values())
        kept = 0
        cut = 0.0
        for weight in sorted(counts, reverse=True):
            cut = weight
            kept += counts[weight]
            if kept >= k:
                break
        # The pool can hold about POSTINGS_BUDGET papers (a common word's newest postings) and
        # this runs per keystroke: a pass over it is skipped where its answer is known from the counts.
        chosen = [(pid, w) for pid, w in pool.items() if w > cut] if kept > counts[cut] else []
        if counts[cut] == len(pool):  # every paper tied: one word walked
            tied = sorted(pool, reverse=True)
        else:
            tied = sorted([pid for pid, w in pool.items() if w == cut], reverse=True)
        places = k - len(chosen)
        length = self._length
        # islice: `tied` can be every paper holding a common word; only a few hundred are wanted.
        low, high = near - 3, near + 3
        same_length = list(islice((pid for pid in tied if low <= length[pid] <= high), places // 4))
        first = set(same_length)
        rest = list(islice((pid for pid in tied if pid not in first), places - len(same_length)))
        chosen += [(pid, cut) for pid in same_length + rest]
        return chosen

    def _candidates(self, slots: list[_Slot], near: int, *, prefix: bool = False, since: int = 0) -> dict[int, float]:
        """Papers scored by the weight of the query words they contain (fuzzy variants count once).

        `prefix`: a word with several alternatives (the completions of a word being typed, "mode"
        → model, models, modeling…) walks only the newest papers' postings once together they
        exceed the budget, as a single common word does; unbounded, a short common prefix would walk
        hundreds of thousands of entries at 1M titles on every keystroke."""
        budget = POSTINGS_BUDGET
        pool: dict[int, float] = {}
        walked = 0
        deferred: list[_Slot] = []
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
                if since:
                    ids = ids[bisect_right(ids, since):]
                if len(ids) > budget:
                    ids = ids[-budget:]  # a query of common words only: newest papers
                if not pool:  # the first word walked (the usual case): built in C
                    pool = dict.fromkeys(ids, weight)
                    continue
                get = pool.get
                for pid in ids:
                    pool[pid] = get(pid, 0.0) + weight
                continue
            best: dict[int, float] = {}
            newest = max(since, self._newest_cut(slot, budget) if prefix and slot.size > budget else 0)
            # Lightest alternative first, so each paper ends up with its best one's weight.
            for term, weight in sorted(slot.alternatives, key=lambda a: a[1]):
                ids = self._postings[term]
                if newest:
                    ids = ids[bisect_right(ids, newest):]
                best.update(dict.fromkeys(ids, weight))
            if not pool:
                pool = best
                continue
            for pid, weight in best.items():
                pool[pid] = pool.get(pid, 0.0) + weight
        if deferred:
            if len(pool) > POOL_SIZE:
                pool = dict(self._top(pool, POOL_SIZE, near))
            pids = list(pool)
            for slot in deferred:
                # Each paper gains its best alternative's weight (lightest first, the heaviest wins).
                gained: dict[int, float] = {}
                for term, weight in sorted(slot.alternatives, key=lambda a: a[1]):
                    gained.update(dict.fromkeys(self._members(term, pids), weight))
                for pid, weight in gained.items():
                    pool[pid] += weight
        return pool

    def _members(self, term: str, pids: list[int]) -> list[int]:
        """The papers of `pids` whose titles hold `term`."""
        ids = self._postings[term]
        if not self._bitmapped(len(ids)):
            return [pid for pid in pids if (i := bisect_left(ids, pid)) < len(ids) and ids[i] == pid]
        bits = self._bitmap(term, ids)
        # Bit pid of the bitmap, for every pid at once with C built-ins (a pool is 1,500 papers).
        return list(compress(pids, map(and_, map(bits.__getitem__, map(rshift, pids, repeat(3))),
                                       map(lshift, repeat(1), map(and_, pids, repeat(7))))))

    def _bitmapped(self, size: int) -> bool:
        """Whether postings of this size are checked through a bitmap."""
        return size >= BITMAP_MIN and size * BITMAP_SHARE >= self.last_id

    def _bitmap(self, term: str, ids: array[int]) -> bytearray:
        bits = self._bitmaps.get(term)
        if bits is not None:
            self._bitmaps.move_to_end(term)
            size = (self.last_id >> 3) + 1
            if len(bits) < size:  # papers added since, none of them holding the term
                bits.extend(bytes(size - len(bits)))
            return bits
        bits = bytearray((self.last_id >> 3) + 1)  # every posted id is at most last_id
        for pid in ids:
            bits[pid >> 3] |= 1 << (pid & 7)
        self._bitmaps[term] = bits
        while len(self._bitmaps) * len(bits) > BITMAP_BYTES:
            self._bitmaps.popitem(last=False)
        return bits

    def warm_bitmaps(self) -> int:
        """Build the bitmaps of the commonest words ahead (about 0.7 s of CPU at 1M titles), one
        at a time under the lock, so that no look-up pays for building one. Returns how many."""
        with self._lock:
            terms = sorted((t for t, ids in self._postings.items() if self._bitmapped(len(ids))),
                           key=lambda t: -len(self._postings[t]))
        built = 0
        for term in terms:
            with self._lock:
                if (built + 1) * ((self.last_id >> 3) + 1) > BITMAP_BYTES:
                    break
                self._bitmap(term, self._postings[term])
                built += 1
        return built

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


def _set_bit(bits: bytearray, pid: int) -> None:
    at = pid >> 3
    if at >= len(bits):
        bits.extend(bytes(at + 1 - len(bits)))
    bits[at] |= 1 << (pid & 7)


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
    """
    q_plain = " ".join(words.words)
    q_compact = "".join(words.words)
    scored = []
    for pid, title, listed in rows:
        t_plain, short_name = _title_forms(title)
        # Order-free, so a title typed with its name moved to the end still counts as whole.
        whole = fuzz.token_sort_ratio(q_plain, t_plain)
        if short_name and len(q_compact) >= 2:
            whole = max(whole, fuzz.ratio(q_compact, short_name))
        exact = max(0.0, whole - 80.0) * 5.0
        # The words typed in order and side by side in the title (a fragment remembered as a
        # phrase) beat the same words scattered; typos are tolerated (character alignment).
        # (A query longer than the title is not a fragment of it: plain similarity then.)
        phrase = (fuzz.partial_ratio if len(q_plain) <= len(t_plain) else fuzz.ratio)(q_plain, t_plain)
        score = (60.0 * coverage[pid] + 0.2 * fuzz.token_set_ratio(q_plain, t_plain) + 0.05 * phrase
                 + 0.15 * exact)
        scored.append((round(score, 1), listed, pid, title))
    scored.sort(key=lambda s: (s[0], s[1], s[2]), reverse=True)
    return [TitleMatch(pid, title, score, dt.date.fromordinal(listed) if listed else None)
            for score, listed, pid, title in scored[:limit]]
