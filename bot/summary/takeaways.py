"""A paper's takeaway (the abstract's sentence that states the result) and its headline figures.

Abstracts open with background ("Large language models have…") and often close with a code
link; the result sits in a sentence like "Experiments show … 22% faster". Sentences are scored
on result cues, figures and position, and the best one wins; the first sentence only when
nothing else says anything. Deterministic, no model, no network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Where a sentence ends: ., ! or ? then space and something that starts a sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'“(\[]?(?:[A-Z0-9$\\]|[a-z]+[A-Z]))")  # "dKV-Cache …" too
# Dots that do not end a sentence (checked on the text before a candidate break).
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|et al|vs|cf|Fig|Figs|Eq|Sec|approx|resp|ca|No|Tab)\.|\b[A-Z]\.)$")

# A figure: an optional qualifier, a number or range, and a unit: ×, x, "times", "-fold" or %.
# "3.18times" and "50x" are how the page text writes "3.18×" and "50×"; "7x7" (a kernel) is not one.
_NUMBER = r"\d+(?:[.,]\d+)?"
FIGURE_RE = re.compile(
    rf"(?<![\w.])(?P<qual>(?:(?:up to|over|about|around|nearly|almost|approximately|at least|more than|by)\s+)?[~≈]?)"
    rf"(?P<num>{_NUMBER}(?:\s*(?:-|–|~|to)\s*{_NUMBER})?)\s?"
    r"(?P<unit>×|[xX](?![\w×])|times(?!\w)|-?fold(?!\w)|\\?%)"  # LaTeX writes \%
)
# "from 39.39% to 60.61%": the second figure finishes the first one's phrase.
# Bounded runs: an unbounded \s* makes a search over a long run of spaces quadratic (issue 21).
_TO = re.compile(r"\s{0,8}(?:to|→|->)\s{0,8}")
_CLAUSE_STOP = re.compile(r"[,;:()\[\]]|\.(?:\s|$)")
_CONTEXT_STOP_WORDS = {"and", "while", "whereas", "but", "which", "with", "without", "compared", "than", "when",
                       "respectively", "giving", "making", "leading", "resulting", "thereby", "using"}
_LEADING_FILLER = {"of", "the", "a", "an", "is", "are", "was", "were", "be", "by", "to", "and", "with", "in", "on",
                   "at", "that", "it", "can", "which"}
# A percentage counts as a headline only near a word saying what improved; "40% of the data" does not.
_RESULT_WORDS = re.compile(
    r"faster|speed|accelerat|improv|accura|reduc|fewer|less|gain|higher|lower|outperform|better|boost|increase|"
    r"decrease|saving|memory|top-1|top-5|mAP|BLEU|F1|win|success|throughput|latency|compress|smaller|cheaper|"
    r"cost|error|score|surpass|drop", re.IGNORECASE)

# Cues and negatives are matched against the lower-cased sentence (written in lower case here):
# case-insensitive matching made Python's re twice as slow, and this scoring runs for every
# abstract a card, a page or a summary shows.
_CUES: tuple[tuple[re.Pattern[str], float], ...] = tuple((re.compile(p), w) for p, w in (
    (r"\b(?:we|results?|experiments?|evaluations?|analys[ie]s|studies|benchmarks?) (?:also )?"
     r"(?:show|demonstrate|reveal|indicate|confirm|find|suggest)", 3.0),
    (r"\b(?:outperform|surpass|exceed|beat)", 3.0),
    (r"\bstate[- ]of[- ]the[- ]art\b|\bsota\b|\bnew record\b", 2.0),
    (r"\bachiev|\bspeed[- ]?ups?\b|\bfaster\b|\bimprov|\bboost", 2.0),
    (r"\breduc|\bup to\b|\bcompared (?:to|with)\b|\bover the\b|\bthan\b|\bsignificant|\bconsistent", 1.0),
    (r"\bmatch(?:es|ing)? the performance|\bcomparable\b|\bcompetitive\b", 1.0),
))
# A sentence that points at code or a link is about the release, not the result. A link is looked
# for apart: in one pattern with the others, a branch that does not start at a word boundary made
# the search try every branch at every character, a third of a takeaway's time.
_RELEASE = (re.compile(r"https?://"),
            re.compile(r"\bgithub\b|\bcode (?:is|and|will)|\b(?:publicly )?available at\b"
                       r"|\bwe (?:release|open-source)\b|\bopen[- ]sourced?\b|\breleased? (?:here|at)\b"))
_RELEASE_WEIGHT = 5.0
_NEGATIVE: tuple[tuple[re.Pattern[str], float], ...] = tuple((re.compile(p), w) for p, w in (
    (r"\bhowever\b|\balthough\b|\bremains?\b|\bchalleng|\blimitation|\bsuffer", 1.0),
    (r"\b(?:recent|existing|previous|prior|current|conventional|traditional)\b", 1.0),
))
_METHOD = re.compile(r"\bwe (?:propose|introduce|present|develop|design)|\b(?:in )?this (?:paper|work)\b",
                     re.IGNORECASE)
_GLUED_TIMES = re.compile(r"(?<=\d)times\b")


@dataclass(slots=True, frozen=True)
class Figure:
    """A headline number: `value` like "3.18×", "up to 50×", "22%", and `text`, the phrase around it
    that says what it measures ("3.18× compression speed up", "UNet part of the model is 22% faster")."""

    value: str
    text: str


def sentences(text: str) -> list[str]:
    """Split an abstract into sentences, keeping "e.g.", "et al." and decimals intact."""
    text = " ".join(text.split())
    if not text:
        return []
    out: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        candidate = text[start:m.start()]
        if _ABBREVIATION.search(candidate):
            continue
        out.append(candidate.strip())
        start = m.end()
    out.append(text[start:].strip())
    return [s for s in out if s]


def tidy(sentence: str) -> str:
    """Show the page text's "3.18times" as "3.18×" (the × was lost when the page was copied)."""
    return _GLUED_TIMES.sub("×", sentence)


def _unit(raw: str) -> str:
    return "%" if raw.endswith("%") else "×"


def _value(m: re.Match[str]) -> str:
    qual = m.group("qual").strip()
    qual = "" if qual == "by" else qual + " " if qual[:1].isalpha() else qual  # "up to 50×", "~254×"
    num = re.sub(r"\s*(?:-|–|~|to)\s*(?=\d)", "–", m.group("num"))
    return f"{qual}{num}{_unit(m.group('unit'))}"


_TRAILING_FILLER = _LEADING_FILLER | {"our", "their", "its", "for", "from"}


def _words_after(text: str, limit: int = 6) -> list[str]:
    stop = _CLAUSE_STOP.search(text)
    kept: list[str] = []
    for word in (text[:stop.start()] if stop else text).split()[:limit]:
        if word.lower() in _CONTEXT_STOP_WORDS or FIGURE_RE.search(word):
            break
        kept.append(word)
    while kept and kept[-1].lower() in _TRAILING_FILLER:
        kept.pop()
    return kept


def _words_before(text: str, limit: int = 6) -> list[str]:
    stops = list(_CLAUSE_STOP.finditer(text))
    kept: list[str] = []
    for word in reversed((text[stops[-1].end():] if stops else text).split()):
        if len(kept) == limit or word.lower() in _CONTEXT_STOP_WORDS or FIGURE_RE.search(word):
            break
        kept.insert(0, word)
    while kept and kept[0].lower() in _LEADING_FILLER:
        kept.pop(0)
    return kept


def figures(text: str, limit: int = 3) -> list[Figure]:
    """Up to `limit` headline figures of an abstract, in reading order (multipliers first when cut)."""
    found: list[tuple[int, int, Figure]] = []
    seen: set[str] = set()
    consumed = 0  # where the last "from X to Y" ended: Y is not a figure of its own
    for m in FIGURE_RE.finditer(text):
        if m.start() < consumed:
            continue
        unit = _unit(m.group("unit"))
        to = _TO.match(text, m.end())
        end = FIGURE_RE.match(text, to.end()) if to else None
        if end is not None and _unit(end.group("unit")) != unit:
            end = None
        after = _words_after(text[(end or m).end():])
        before = _words_before(text[:m.start()])
        if unit == "%" and not _RESULT_WORDS.search(" ".join(before + after)):
            continue
        value = _value(m)
        # A bare comparative ("22% faster") says little without what got faster.
        by = ["by"] if m.group("qual").strip() == "by" else []  # "speed up ViTs by 1.7×"
        if end is not None:  # "reduces violation from 100.0% to 12.5%": never cut after "from 100.0%"
            consumed = end.end()
            value = f"{value} to {_value(end)}"
            words = [*before, value, *after]
        else:
            words = [value, *after] if len(after) >= 2 else [*before, *by, value, *after]
        phrase = tidy(" ".join(words))
        if phrase in seen:
            continue
        seen.add(phrase)
        found.append((0 if unit == "×" else 1, m.start(), Figure(value, phrase)))
    chosen = sorted(found, key=lambda f: (f[0], f[1]))[:limit]
    return [f for _, _, f in sorted(chosen, key=lambda f: f[1])]


def _score(sentence: str, index: int, count: int) -> float:
    lowered = sentence.lower()
    score = sum(w for p, w in _CUES if p.search(lowered))
    score -= sum(w for p, w in _NEGATIVE if p.search(lowered))
    if any(p.search(lowered) for p in _RELEASE):
        score -= _RELEASE_WEIGHT
    score += min(2 * len(list(FIGURE_RE.finditer(sentence))), 4)
    if index == 0:
        score -= 3  # the opening sentence is background far more often than a result
    elif count > 2 and index >= count * 0.6:
        score += 1  # results come late
    if len(sentence) < 40:
        score -= 2
    elif len(sentence) > 450:
        score -= 1
    return score


def takeaway(abstract: str) -> str:
    """The sentence of `abstract` that states the result ("" for an empty abstract)."""
    found = sentences(abstract)
    if not found:
        return ""
    scored = [(_score(s, i, len(found)), -i, s) for i, s in enumerate(found)]
    best_score, _, best = max(scored)
    if best_score <= 0:
        # No sentence states a result: what the paper proposes is the next best thing.
        method = next((s for s in found if _METHOD.search(s)), None)
        best = method or (found[1] if len(found) > 1 and len(found[1]) >= 40 else found[0])
    return tidy(best)
