"""SimilarService: a paper's nearest neighbours and a member's recommendations.

/similar: the query paper's vector (bot/similar/vectors.py) is matched against the inverted index,
reading only the heaviest postings of each of its terms (storage.similar.candidates), `PER_TERM`
a term on average, shared out by `depths`, and the best `RERANK` candidates are ranked again by
their exact cosine (their stored vectors): bench/README.md compares this with brute-force cosine
over the whole archive.

/recommend: the member's profile is the centroid of the papers they saved and voted for (in any
server; arxiv-sanity trains a linear classifier on the same vectors, the centroid is its simplest
form and needs no negatives). The papers first listed in the last days are ranked by cosine with
it, each with the shared words that weighed most.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.similar.index import Coverage, SimilarIndex, coverage
from bot.similar.vectors import centroid, contributions, dot
from bot.similar.week import send_time
from storage import guilds as guild_repo
from storage import library as library_repo
from storage import papers as paper_repo
from storage import recommend as recommend_repo
from storage import similar as similar_repo
from storage import votes as vote_repo
from storage.db import Database
from storage.records import StoredPaper
from storage.similar import SCALE, PaperText, TermWeights

PER_TERM = 900  # postings read a query term, on average
MIN_PER_TERM = 100
MAX_PER_TERM = 4 * PER_TERM  # a very light term's list read this far at most: the slow queries' tail
RERANK = 300
MAX_NEIGHBOURS = 25
WORDS = 4  # the shared words shown per paper
MAX_SEEDS = 500  # the most recent saves and votes a profile is made of
MAX_RECENT = 20_000  # the newest papers of the period a recommendation ranks
MAX_DAYS = 90


def depths(query: TermWeights, mean: int = PER_TERM) -> list[int]:
    """How many postings to read of each query term: `mean` a term in all, shared in inverse
    proportion to the square of the term's weight (`MIN_PER_TERM` to `MAX_PER_TERM`). A light term is a
    common one: its list is long, and the papers most like the query are deep in it; a heavy one
    is rare, its list short, and its first postings hold what it has to give."""
    inverse = [1 / (w * w) for _, w in query]
    total = sum(inverse)
    return [min(MAX_PER_TERM, max(MIN_PER_TERM, round(mean * len(query) * x / total))) for x in inverse]


@dataclass(frozen=True, slots=True)
class Match:
    """A paper found: its cosine with the query or profile (0-1) and the shared words that weighed most."""

    paper: StoredPaper
    score: float
    words: list[str]


@dataclass(frozen=True, slots=True)
class Recommendations:
    matches: list[Match]
    seeds: int  # papers the profile was made of
    days: int
    candidates: int  # papers of the period that were ranked


@dataclass(slots=True)
class SimilarService:
    db: Database

    @property
    def index(self) -> SimilarIndex:
        return SimilarIndex(self.db)

    async def neighbours(self, paper: StoredPaper, limit: int = 10) -> list[Match]:
        """The papers most like `paper`, best first (at most `limit`). A paper not weighed yet
        (the catch-up has not reached it) is weighed now."""
        query = (await similar_repo.vectors(self.db, [paper.id])).get(paper.id)
        if query is None:
            await self.index.index([paper.id])
            query = await self.index.vector_of(PaperText(paper.id, paper.title, paper.abstract))
        if not query:
            return []
        found = await similar_repo.candidates(self.db, query, per_term=depths(query), limit=RERANK,
                                              exclude=paper.id)
        stored = await similar_repo.vectors(self.db, [i for i, _ in found])  # deleted papers have none
        weights = dict(query)
        ranked = sorted(((dot(weights, v) / SCALE**2, i) for i, v in stored.items()), key=lambda x: (-x[0], x[1]))
        ranked = [(s, i) for s, i in ranked[:limit] if s > 0]
        return await self._matches(ranked, {t: float(w) for t, w in weights.items()}, stored)

    async def coverage(self) -> Coverage:
        """How far the index is (the bot's catch-up weighs the rest: bot/similar/backfill.py)."""
        return await coverage(self.db)

    async def seeds(self, user_id: str) -> list[int]:
        """The papers a member's profile is made of: their library, then their votes (newest first)."""
        saved = await library_repo.saved_paper_ids(self.db, user_id)
        voted = await vote_repo.voted_paper_ids(self.db, user_id)
        return list(dict.fromkeys([*saved, *voted]))[:MAX_SEEDS]

    async def recommend(self, user_id: str, *, today: dt.date, days: int = 7, limit: int = 10) -> Recommendations:
        """The papers first listed in the last `days` days (today included) most like the ones the
        member saved and voted for; theirs are left out."""
        seeds = await self.seeds(user_id)
        vectors = list((await similar_repo.vectors(self.db, seeds)).values())
        missing = set(seeds) - set(await similar_repo.text_hashes(self.db, seeds))
        for text in await similar_repo.texts(self.db, sorted(missing)):
            vectors.append(await self.index.vector_of(text))
        profile = centroid([v for v in vectors if v])
        if not profile:
            return Recommendations([], len(seeds), days, 0)
        recent = await similar_repo.recent_vectors(self.db, today - dt.timedelta(days=days - 1), MAX_RECENT)
        mine = set(seeds)
        ranked = sorted(((dot(profile, v) / SCALE**2, i) for i, v in recent.items() if i not in mine),
                        key=lambda x: (-x[0], x[1]))
        ranked = [(s, i) for s, i in ranked[:limit] if s > 0]
        return Recommendations(await self._matches(ranked, profile, recent), len(seeds), days, len(recent))

    async def set_weekly(self, user_id: str, on: bool, *, now: dt.datetime, guild_id: str | None = None) -> bool:
        """Opt the member in (or out of) the weekly message (bot/similar/weekly.py), on Monday
        mornings in the time zone of `guild_id`'s daily post; True when changed."""
        return await recommend_repo.set_weekly(self.db, user_id, on, now=now, guild_id=guild_id)

    async def weekly_time(self, guild_id: str | None) -> str:
        """When on Mondays a member who opts in from `guild_id` gets the message: "08:00 Europe/Paris"."""
        schedule = await guild_repo.get_schedule(self.db, guild_id) if guild_id else None
        at, zone = send_time(schedule.timezone if schedule else None, schedule.post_time if schedule else None)
        return f"{at.strftime('%H:%M')} {zone}"

    async def weekly(self, user_id: str) -> bool:
        return await recommend_repo.is_weekly(self.db, user_id)

    async def _matches(self, ranked: list[tuple[float, int]], query: dict[int, float],
                       stored: dict[int, list[tuple[int, int]]]) -> list[Match]:
        papers = {p.id: p for p in await paper_repo.get_papers(self.db, [i for _, i in ranked])}
        shared = {i: [t for t, _ in contributions(query, stored[i])[:WORDS]] for _, i in ranked}
        names = await similar_repo.term_names(self.db, sorted({t for ts in shared.values() for t in ts}))
        return [Match(papers[i], round(s, 4), [names[t] for t in shared[i] if t in names])
                for s, i in ranked if i in papers]
