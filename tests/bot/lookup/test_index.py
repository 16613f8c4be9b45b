"""The title index: each kind of noise finds the paper, and the index follows loads."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import random
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.fuzzy import noisy_queries
from bot.lookup import index as index_module
from bot.lookup.index import TitleIndex
from bot.lookup.sync import TitleIndexSync
from bot.lookup.text import compact, index_terms, plain, spaced_words, split_words, title_forms
from storage.db import Database
from storage.loader import Loader
from storage.lookup import TitleRow
from storage.records import PaperRecord, ParsedDigest
from tests.storage.raw import execute

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
DAY = dt.date(2025, 9, 9)


def sample_titles() -> list[str]:
    """The 144 titles of the sample page: after the date line, titles and abstracts alternate."""
    text = (FIXTURES / "hf-daily-papers-page-sep-9.txt").read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    body = paragraphs[paragraphs.index("Sep 9") + 1:]
    return body[0::2]


@pytest.fixture(scope="module")
def sample_index() -> TitleIndex:
    index = TitleIndex()
    index.add(TitleRow(i + 1, t, DAY) for i, t in enumerate(sample_titles()))
    return index


def test_sample_has_144_titles() -> None:
    assert len(sample_titles()) == 144


@pytest.mark.parametrize("text, expected", [
    ("$Δ$-DiT", "delta dit"), ("$\\Delta$-DiT", "delta dit"), ("Delta-DiT", "delta dit"),
    ("PanGu-$π$", "pangu pi"), ("Ünïcödé  Naïve", "unicode naive"), ("$\\mathcal{O}(n)$ Attention", "o n attention"),
])
def test_latex_greek_and_accents_fold_to_the_same_words(text: str, expected: str) -> None:
    assert plain(text) == expected


def test_short_name_and_hyphenated_words_are_indexed_joined() -> None:
    terms = index_terms("dKV-Cache: The Cache for Diffusion Language Models")
    assert {"dkv", "cache", "dkvcache", "diffusion"} <= terms
    assert "the" not in terms and "for" not in terms
    assert compact("$\\Delta$-DiT") == compact("Δ DiT") == "deltadit"


@pytest.mark.parametrize("title", sample_titles() + [
    "dKV-Cache: The Cache for Diffusion Language Models", "Group DETR: fast", "A long head before: a subtitle",
    "$\\Delta$-DiT:  Δ\tx", "::", "", "Ünïcödé: naïve_snake-case"])
def test_title_forms_are_split_words_joined(title: str) -> None:
    # The re-ranking's one-pass shortcut must compare exactly what split_words would have given.
    words = split_words(title)
    assert title_forms(title) == (" ".join(words.words), words.short_name)



def test_the_ascii_shortcut_finds_the_words_the_regex_finds() -> None:
    # Every ASCII character, in random company, and text that is not ASCII (the regex's own path).
    rng = random.Random(5)
    alphabet = [chr(c) for c in range(128)] + ["é", "Δ", "\u00a0", "٣", "ﬁ"]
    texts = ["".join(rng.choice(alphabet[:128] if i % 2 else alphabet) for _ in range(rng.randrange(20)))
             for i in range(5000)]
    for text in texts:
        assert spaced_words(text) == " ".join(re.findall(r"[^\W_]+", text)), repr(text)

KINDS = sorted({q.kind for q in noisy_queries(sample_titles())})


@pytest.mark.parametrize("kind", KINDS)
def test_every_noisy_title_finds_its_paper_first(sample_index: TitleIndex, kind: str) -> None:
    titles = sample_titles()
    misses = []
    for q in noisy_queries(titles):
        if q.kind != kind:
            continue
        found = sample_index.search(q.query, 1)
        if not found or found[0].paper_id != titles.index(q.title) + 1:
            misses.append((q.query, found[0].title if found else None))
    assert misses == []


@pytest.mark.parametrize("query, title_start", [
    ("SliceGPT", "SliceGPT:"), ("slicegtp", "SliceGPT:"), ("dKV-Cache", "dKV-Cache:"), ("dkv cache", "dKV-Cache:"),
    ("Quamba2", "Quamba2:"), ("quamba 2", "Quamba2:"), ("Delta-DiT", "$Δ$-DiT"), ("$\\Delta$-DiT", "$Δ$-DiT"),
    ("flash atention io awareness", "FlashAttention:"), ("FLASHATTENTION", "FlashAttention:"),
])
def test_short_names_typed_any_which_way(sample_index: TitleIndex, query: str, title_start: str) -> None:
    found = sample_index.search(query, 3)
    assert found and found[0].title.startswith(title_start)


def test_scores_are_ordered_and_bounded(sample_index: TitleIndex) -> None:
    found = sample_index.search("efficient diffusion transformers", 10)
    assert len(found) == 10
    scores = [m.score for m in found]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 100 for s in scores)


def test_same_title_twice_prefers_the_newest_listing() -> None:
    index = TitleIndex()
    index.add([TitleRow(1, "SliceGPT: An Old Paper", dt.date(2020, 1, 1)),
               TitleRow(2, "SliceGPT: A New Paper", dt.date(2025, 1, 1))])
    assert [m.paper_id for m in index.search("SliceGPT", 2)] == [2, 1]


def test_prefix_mode_completes_the_last_word(sample_index: TitleIndex) -> None:
    found = sample_index.search("squeezel", 1, prefix=True)
    assert found and found[0].title.startswith("SqueezeLLM")


@pytest.mark.parametrize("query", ["", "   ", "the of and", "🙂🙂🙂", "مرحبا بالعالم", "x" * 100_000,
                                   "word " * 5000, "\x00\u202e", "$$$\\\\{}"])
def test_odd_queries_do_not_crash(sample_index: TitleIndex, query: str) -> None:
    found = sample_index.search(query, 5)
    assert len(found) <= 5


def test_changed_and_removed_titles() -> None:
    index = TitleIndex()
    index.add([TitleRow(1, "Granite Embedding R2 Models", DAY), TitleRow(2, "Query Rewriting via LLMs", DAY)])
    index.add([TitleRow(1, "Completely Different Words", DAY)])
    assert index.search("Completely Different", 1)[0].paper_id == 1
    assert all(m.paper_id != 1 or m.score < 50 for m in index.search("Granite Embedding", 1))
    index.remove([2])
    assert index.search("Query Rewriting via LLMs", 1) == []
    assert len(index) == 1


@pytest.mark.both_backends
async def test_sync_follows_loads_changes_and_deletions(db: Database) -> None:
    loader = Loader(db)
    sync = TitleIndexSync(db)
    await loader.load(ParsedDigest("hf-daily", DAY, "hf-page", [PaperRecord("SliceGPT: Compress Models", "")]))
    assert await sync.build() == 1
    assert await sync.refresh() == 0
    await loader.load(ParsedDigest("hf-daily", DAY + dt.timedelta(days=1), "hf-api", [
        PaperRecord("Quamba2: A Robust Quantization Framework", "", arxiv_id="2503.22879"),
        PaperRecord("SliceGPT: Compress Large Language Models", "", arxiv_id="2401.15024"),
    ]))
    await sync.refresh()
    assert sync.index.search("quamba2", 1)[0].title.startswith("Quamba2")
    hit = sync.index.search("SliceGPT compress large language models", 5)
    assert [m.title for m in hit] == ["SliceGPT: Compress Large Language Models", "SliceGPT: Compress Models"]
    await execute(db, "DELETE FROM papers WHERE arxiv_id = ?", "2503.22879")
    await sync.refresh()
    assert sync.index.search("quamba2", 1) == []


def test_whole_title_typed_is_found_among_many_newer_titles_containing_it() -> None:
    index = TitleIndex()
    index.add([TitleRow(1, "Modeling Performance of Data Collection Systems for Physics", dt.date(2020, 1, 1))])
    index.add(TitleRow(i, f"Name{i}: Modeling Performance of Data Collection Systems for Physics", DAY)
              for i in range(2, 3000))
    found = index.search("modeling performance of data collection systems for physics", 1)
    assert found[0].paper_id == 1


def test_words_typed_as_a_phrase_beat_the_same_words_scattered() -> None:
    index = TitleIndex()
    index.add([TitleRow(1, "Fast DETR Training with Group-Wise Assignment", dt.date(2020, 1, 1)),
               TitleRow(2, "Group-Wise Training with Fast DETR Assignment", DAY)])
    assert index.search("fast detr training with group wise", 1)[0].paper_id == 1


def test_prefix_mode_completes_a_name_typed_in_pieces() -> None:
    index = TitleIndex()
    index.add(TitleRow(i, f"Attention Study Number {i}", DAY) for i in range(1, 500))
    index.add([TitleRow(500, "FlashAttention: Fast and Memory-Efficient Exact Attention", dt.date(2020, 1, 1))])
    assert index.search("flash att", 1, prefix=True)[0].paper_id == 500



@contextlib.contextmanager
def held_by_another_thread(index: TitleIndex) -> Iterator[None]:
    """The index locked by another thread meanwhile, as a big load's batch or a snapshot image does."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with index._lock:
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        yield
    finally:
        release.set()
        holder.join()


def test_search_if_free_answers_as_search_does_or_gives_way_to_another_thread(sample_index: TitleIndex) -> None:
    assert sample_index.search_if_free("squeezel", 3, prefix=True) == sample_index.search("squeezel", 3, prefix=True)
    with held_by_another_thread(sample_index):
        assert sample_index.search_if_free("squeezel", 3, prefix=True) is None


def _filler_index() -> tuple[TitleIndex, list[str]]:
    """The sample titles and 1,200 titles of common words: at a small postings budget, common
    words are checked against the best candidates instead of walked."""
    titles = sample_titles()
    filler = [f"{w} models for learning with {titles[i % len(titles)].split()[-1]}"
              for i, w in enumerate(["Efficient", "Scalable", "Robust"] * 400)]
    index = TitleIndex()
    index.add(TitleRow(i + 1, t, DAY) for i, t in enumerate(titles + filler))
    queries = [q.query for q in noisy_queries(titles)][:150] + titles[:40] + ["robust models learning zebras"]
    return index, queries


def _weights(index: TitleIndex, query: str) -> dict[int, float]:
    ids, weights = index._candidates(index._slots(split_words(query), prefix=False), len(query.encode()))
    return dict(zip(ids.tolist(), weights.tolist(), strict=True))


def test_a_candidate_weighs_the_same_whether_its_words_were_walked_or_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    # Past the postings budget, common words are not walked but checked against the best
    # candidates: each candidate must still weigh exactly what walking every word gives it (ties
    # between candidates are exact ties), also after papers are added in order and out of order.
    index, queries = _filler_index()

    def both_ways() -> None:
        monkeypatch.setattr("bot.lookup.index.POSTINGS_BUDGET", 10**9)
        walked = {q: _weights(index, q) for q in queries}
        monkeypatch.setattr("bot.lookup.index.POSTINGS_BUDGET", 300)
        monkeypatch.setattr("bot.lookup.index.POOL_SIZE", 100)
        checked = {q: _weights(index, q) for q in queries}
        for q in queries:
            assert checked[q] and set(checked[q]) <= set(walked[q]), q
            assert checked[q] == {pid: walked[q][pid] for pid in checked[q]}, q

    both_ways()
    last = len(index)
    index.add([TitleRow(last + 1, "Robust models for learning with zebras", DAY),
               TitleRow(3, "Scalable models for learning zebras", DAY)])
    both_ways()
    assert index.search("robust models learning zebras", 3)[0].paper_id == last + 1


def test_a_search_that_failed_half_way_leaves_the_index_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    # A search sums weights in scratch arrays kept between searches and reads postings in place:
    # one that fails half way (here: while checking common words) must leave neither stale sums
    # for the next search nor postings that cannot grow.
    index, queries = _filler_index()
    monkeypatch.setattr("bot.lookup.index.POSTINGS_BUDGET", 300)
    before = {q: index.search(q, 10) for q in queries[:60]}
    calls = itertools.count()
    postings_from, members = index_module._ids, TitleIndex._members

    def failing(what: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            if next(calls) % 3 == 2:
                raise MemoryError("half way")
            return what(*args)
        return call

    with monkeypatch.context() as patched:
        patched.setattr(index_module, "_ids", failing(postings_from))  # while walking the rare words
        patched.setattr(TitleIndex, "_members", failing(members))  # while checking the common ones
        for q in queries[:60]:
            with contextlib.suppress(MemoryError):
                index.search(q, 10)
        assert next(calls) > 60
    assert {q: index.search(q, 10) for q in queries[:60]} == before
    index.add([TitleRow(len(index) + 1, "Scalable models for learning with zebras", DAY)])
    assert index.search("scalable models learning zebras", 1)[0].paper_id == len(index)


def test_a_search_since_an_id_scores_the_newer_papers_as_a_whole_search_does() -> None:
    """What keeps a paper's close matches current (bot/lookup/close.py): only papers added since,
    each with the score the whole search gives it."""
    titles = sample_titles()
    index = TitleIndex()
    index.add(TitleRow(i + 1, t, DAY) for i, t in enumerate(titles))
    index.add([TitleRow(145, "SliceGPT: Compress Large Language Models by Deleting Rows", DAY),
               TitleRow(146, "Compressing Large Language Models by Deleting Rows and Columns", DAY)])
    query = "SliceGPT: Compress Large Language Models by Deleting Rows and Columns"
    whole = {m.paper_id: m.score for m in index.search(query, 200)}
    since = index.search(query, 200, since=144)
    assert {m.paper_id for m in since} == {145, 146}
    assert all(m.score == whole[m.paper_id] for m in since)
    assert index.search(query, 10, since=146) == []


def test_the_best_few_are_the_head_of_the_whole_ranking() -> None:
    # The costly phrase alignment is only computed for candidates that can still reach the best
    # `limit`: asking for fewer matches must give exactly the head of the full ranking.
    index, queries = _filler_index()
    for q in queries:
        ranked = index.search(q, index_module.RERANK_SIZE)
        for limit in (1, 4, 8, 25):
            assert index.search(q, limit) == ranked[:limit], (q, limit)
