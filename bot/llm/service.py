"""The LLM service: asks the model when a digest loads, keeps the answers in the cache, and lends
them to the daily post, /digest and the paper card without ever making them wait.

    llm = LlmService.from_settings(db, settings, clock=clock, summaries=summaries)
    loader listener: llm.after_commit           # a digest loaded: its summaries are written
    summary = await llm.enrich(summary, post=True)   # the cached texts; never a request
    outcome = await llm.paper_tldr(paper)       # a card's TL;DR on request (waits, up to the timeout)

Per digest it writes a one-line TL;DR for each highlight (Hugging Face's own `ai_summary`, when the
paper has one, is used as it is: no request) and the "today in papers" paragraph, all at once (up
to `max_concurrency`), each checked (bot.llm.checks) before it is cached. After a load the work
runs in a background task (the bot) or before the command ends (`paperboy ingest`, `fetch`):
either way after the load committed, and the daily post only ever reads the cache. A post
rendered while something is missing goes out with the extractive summary, and that is counted,
with the reason, for the status report.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from bot.config import Settings
from bot.llm import checks, prompts
from bot.llm.budget import Budget
from bot.llm.checks import Verdict
from bot.llm.client import ChatClient, LlmError, estimate_tokens
from bot.llm.prompts import PROMPT_VERSION, DayPaper, Prompt
from bot.schedule.clock import Clock, system_clock
from bot.summary.cache import SummaryCache
from bot.summary.compose import Summary, compose
from storage import digests as digest_repo
from storage import llm_cache
from storage import papers as paper_repo
from storage.db import Database
from storage.records import DigestInfo, LoadResult, StoredPaper

log = logging.getLogger(__name__)

# Digests dated more than this many days before today are not summarised on load (a back-fill is
# not news); `paperboy summarize --date` does any day.
MAX_AGE_DAYS = 3
SOURCE_SUMMARY_ORIGIN = "source"
# A post that found texts missing has them written again in the background, at most this often
# per digest: a server that is down is not asked again by every post of the day.
RETRY_INTERVAL = dt.timedelta(minutes=10)

Check = Callable[[str, str], Verdict]


@dataclass(slots=True, frozen=True)
class Outcome:
    """What became of one text. `status`: "cached", "source" (the source's own summary), "written"
    (asked now), "rejected" (the checks dropped the answer), "failed" (no answer), "over budget",
    "would ask" (a dry run)."""

    kind: str  # "tldr" or "overview"
    subject_id: int
    label: str  # the paper's title, or "source date" of the digest
    status: str
    text: str | None = None
    problem: str | None = None


@dataclass(slots=True)
class DigestRun:
    digest: DigestInfo
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def trouble(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status in ("failed", "rejected", "over budget")]


def _source_summary(paper: StoredPaper) -> str | None:
    text = " ".join((paper.ai_summary or "").split())
    return text[:checks.TLDR_MAX].rsplit(" ", 1)[0] + " …" if len(text) > checks.TLDR_MAX else (text or None)


class LlmService:
    def __init__(self, db: Database, client: ChatClient, *, daily_token_budget: int, clock: Clock = system_clock,
                 summaries: SummaryCache | None = None, background: bool = True) -> None:
        self.db = db
        self.client = client
        self.model = client.model
        self.clock = clock
        self.summaries = summaries
        self.background = background
        self.budget = Budget(db, daily_token_budget, clock)
        self._tasks: dict[int, asyncio.Task[DigestRun]] = {}  # digest id -> its summaries being written
        self._started: dict[int, dt.datetime] = {}  # digest id -> when its summaries were last asked for

    @classmethod
    def from_settings(cls, db: Database, settings: Settings, *, api_key: str | None = None, clock: Clock = system_clock,
                      summaries: SummaryCache | None = None, background: bool = True) -> LlmService:
        s = settings.llm
        client = ChatClient(s.base_url, s.model, api_key=api_key, timeout_seconds=s.timeout_seconds,
                            max_concurrency=s.max_concurrency, stream=s.stream)
        return cls(db, client, daily_token_budget=s.daily_token_budget, clock=clock, summaries=summaries,
                   background=background)

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
        await self.client.close()

    async def idle(self) -> None:
        """Wait until the summaries being written in the background are written (or failed)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    # -- on load ---------------------------------------------------------------------------------

    async def after_commit(self, results: Sequence[LoadResult]) -> None:
        """A Loader `after_commit` listener: a recent daily digest that changed gets its summaries
        written, in the background (or, for a one-shot command, before this returns)."""
        today = self.clock().date()
        for result in results:
            if result.unchanged or not result.papers or (today - result.date).days > MAX_AGE_DAYS:
                continue
            digest = await digest_repo.get_digest(self.db, result.digest_id)
            if digest is None or digest.kind != "daily":
                continue
            if self.background:
                self._spawn(digest)
            else:
                await self._logged(digest)

    def _spawn(self, digest: DigestInfo) -> None:
        running = self._tasks.get(digest.id)
        self._started[digest.id] = self.clock()

        async def work() -> DigestRun:
            if running is not None:  # the digest changed again while being summarised: after that run
                await asyncio.gather(running, return_exceptions=True)
            return await self._logged(digest)

        task = asyncio.create_task(work())
        self._tasks[digest.id] = task
        task.add_done_callback(lambda t: self._tasks.pop(digest.id, None) if self._tasks.get(digest.id) is t else None)

    async def _logged(self, digest: DigestInfo) -> DigestRun:
        try:
            run = await self.summarize_digest(digest)
        except Exception:  # noqa: BLE001 - a summary is optional: the load and the post go on without it
            log.exception("writing the model's summaries of %s %s failed", digest.source, digest.date)
            return DigestRun(digest)
        for o in run.trouble:
            log.warning("model summary of %s: %s (%s)", o.label, o.status, o.problem)
        return run

    # -- writing ------------------------------------------------------------------------------

    async def summarize_digest(self, digest: DigestInfo, *, dry_run: bool = False,
                               retry_rejected: bool = False) -> DigestRun:
        """Fill the cache for `digest`: the highlights' TL;DRs and the day's paragraph. `dry_run`
        asks nothing and reports what is cached and what would be asked."""
        summary = await (self.summaries.get(self.db, digest) if self.summaries else compose(self.db, digest))
        run = DigestRun(digest)
        ids = [h.paper.paper_id for h in summary.highlights]
        papers = await paper_repo.get_papers(self.db, ids)
        cached = await llm_cache.get_cached(self.db, "tldr", ids, self.model, PROMPT_VERSION)
        jobs: list[Awaitable[Outcome]] = []
        for paper in papers:
            found = cached.get(paper.id)
            given = _source_summary(paper)
            if given is not None:
                if found is None or found.text != given:
                    await llm_cache.put_cached(self.db, "tldr", paper.id, self.model, PROMPT_VERSION,
                                               input_hash="source", text=given, origin=SOURCE_SUMMARY_ORIGIN,
                                               now=self.clock())
                run.outcomes.append(Outcome("tldr", paper.id, paper.title, "source", given))
                continue
            prompt = prompts.tldr_prompt(paper.title, paper.abstract)
            jobs.append(self._one("tldr", paper.id, paper.title, prompt, checks.check_tldr, found, dry_run,
                                  retry_rejected))
        prompt = _overview_prompt(summary, {p.id: p for p in papers})
        label = f"{digest.source} {digest.date.isoformat()}"
        found_day = (await llm_cache.get_cached(self.db, "overview", [digest.id], self.model, PROMPT_VERSION)).get(
            digest.id)
        jobs.append(self._one("overview", digest.id, label, prompt, checks.check_overview, found_day, dry_run,
                              retry_rejected))
        run.outcomes += await asyncio.gather(*jobs)
        return run

    async def _one(self, kind: str, subject: int, label: str, prompt: Prompt, check: Check,
                   found: llm_cache.Cached | None, dry_run: bool, retry_rejected: bool) -> Outcome:
        if found is not None and found.input_hash == prompt.input_hash and (found.text or not retry_rejected):
            return Outcome(kind, subject, label, "cached" if found.text else "rejected", found.text, found.problem)
        if dry_run:
            return Outcome(kind, subject, label, "would ask")
        return await self._ask(kind, subject, label, prompt, check)

    async def _ask(self, kind: str, subject: int, label: str, prompt: Prompt, check: Check) -> Outcome:
        day = self.clock().date()
        reserve = estimate_tokens("".join(m["content"] for m in prompt.messages)) + prompt.max_tokens
        if not await self.budget.reserve(reserve):
            problem = f"the day's token budget ({self.budget.limit:,}) is spent"
            await llm_cache.add_usage(self.db, day, self.model, problem=problem, now=self.clock())
            return Outcome(kind, subject, label, "over budget", problem=problem)
        try:
            try:
                answer = await self.client.complete(prompt.messages, max_tokens=prompt.max_tokens)
            except LlmError as exc:
                await llm_cache.add_usage(self.db, day, self.model, requests=1, failures=1,
                                          problem=f"{exc.kind}: {exc}", now=self.clock())
                return Outcome(kind, subject, label, "failed", problem=str(exc))
            await llm_cache.add_usage(self.db, day, self.model, requests=1, prompt_tokens=answer.prompt_tokens,
                                      completion_tokens=answer.completion_tokens)
        finally:
            self.budget.release(reserve)
        verdict = check(answer.text, prompt.source)
        await llm_cache.put_cached(self.db, kind, subject, self.model, PROMPT_VERSION, input_hash=prompt.input_hash,
                                   text=verdict.text, problem=verdict.problem, tokens=answer.tokens, now=self.clock())
        if verdict.text is None:
            await llm_cache.add_usage(self.db, day, self.model, rejected=1,
                                      problem=f"answer dropped: {verdict.problem}", now=self.clock())
            return Outcome(kind, subject, label, "rejected", problem=verdict.problem)
        return Outcome(kind, subject, label, "written", verdict.text)

    # -- reading ------------------------------------------------------------------------------

    async def enrich(self, summary: Summary, *, post: bool = False) -> Summary:
        """`summary` with the cached paragraph and TL;DRs (a cache read, never a request). For a
        `post`, anything missing is counted as a post that went out extractive, with the reason,
        and (when nothing is writing it) the missing summaries are written in the background."""
        ids = [h.paper.paper_id for h in summary.highlights]
        tldrs = await llm_cache.get_cached(self.db, "tldr", ids, self.model, PROMPT_VERSION)
        day = (await llm_cache.get_cached(self.db, "overview", [summary.digest_id], self.model,
                                          PROMPT_VERSION)).get(summary.digest_id)
        highlights = tuple(dataclasses.replace(h, tldr=tldrs[h.paper.paper_id].text)
                           if h.paper.paper_id in tldrs else h for h in summary.highlights)
        enriched = dataclasses.replace(summary, highlights=highlights, overview=day.text if day else None)
        if post and summary.papers:
            missing = (enriched.overview is None) + sum(h.tldr is None for h in highlights)
            if missing:
                await self._went_out_extractive(summary, missing)
        return enriched

    async def _went_out_extractive(self, summary: Summary, missing: int) -> None:
        if summary.digest_id in self._tasks:
            why = "the model was still writing"
        else:
            usage = await llm_cache.get_usage(self.db, self.clock().date(), self.model)
            why = usage.last_problem or "not written yet"
        problem = (f"daily post of {summary.source} {summary.date.isoformat()} went out with the extractive "
                   f"summary ({missing} text{'s' if missing != 1 else ''} missing: {why})")
        log.info("%s", problem)
        await llm_cache.add_usage(self.db, self.clock().date(), self.model, extractive_posts=1, post_note=problem,
                                  now=self.clock())
        last = self._started.get(summary.digest_id)
        if self.background and summary.digest_id not in self._tasks and (
                last is None or self.clock() - last >= RETRY_INTERVAL):
            digest = await digest_repo.get_digest(self.db, summary.digest_id)
            if digest is not None:
                self._spawn(digest)  # for the posts and pages still to come

    async def paper_tldr(self, paper: StoredPaper) -> Outcome:
        """A paper card's TL;DR on request: the source's own, the cached one, or asked now (the
        caller waits, up to the timeout; a failure is an outcome with the reason, not an error)."""
        given = _source_summary(paper)
        if given is not None:
            return Outcome("tldr", paper.id, paper.title, "source", given)
        prompt = prompts.tldr_prompt(paper.title, paper.abstract)
        found = (await llm_cache.get_cached(self.db, "tldr", [paper.id], self.model, PROMPT_VERSION)).get(paper.id)
        return await self._one("tldr", paper.id, paper.title, prompt, checks.check_tldr, found, False, False)


def _overview_prompt(summary: Summary, abstracts: dict[int, StoredPaper]) -> Prompt:
    """The day's prompt: the highlights with their abstracts first, then the other papers' titles."""
    seen: set[int] = set()
    papers: list[DayPaper] = []
    for h in summary.highlights:
        paper = abstracts.get(h.paper.paper_id)
        papers.append(DayPaper(h.paper.title, paper.abstract if paper else ""))
        seen.add(h.paper.paper_id)
    for group in summary.groups:
        papers += [DayPaper(item.title) for item in group.papers if item.paper_id not in seen]
    themes = [(t.label, t.papers) for t in summary.themes]
    return prompts.overview_prompt(summary.papers, themes, papers)


@dataclass(slots=True, frozen=True)
class LlmReport:
    """The model's line in the status report: what is configured and the UTC day's usage."""

    model: str
    base_url: str
    budget: int
    usage: llm_cache.Usage

    def text(self) -> str:
        from bot.redact import redact

        u = self.usage
        line = (f"{self.model} at {redact(self.base_url)}; today ({u.day.isoformat()} UTC): "
                f"{u.requests} request{'s' if u.requests != 1 else ''}, {u.tokens:,} of {self.budget:,} tokens, "
                f"{u.failures} failed, {u.rejected} dropped by the checks")
        if u.extractive_posts:
            times = "once" if u.extractive_posts == 1 else f"{u.extractive_posts} times"
            line += f"; daily posts went out without model text {times}"
        if u.last_post_note:
            line += f"\nLast post without it: {redact(u.last_post_note)}"
        if u.last_problem:
            line += f"\nLast problem: {redact(u.last_problem)}"
        return line

    def to_json(self) -> dict[str, object]:
        from bot.redact import redact

        u = self.usage
        return {"model": self.model, "base_url": redact(self.base_url), "daily_token_budget": self.budget,
                "day": u.day, "requests": u.requests, "prompt_tokens": u.prompt_tokens,
                "completion_tokens": u.completion_tokens, "failures": u.failures, "rejected": u.rejected,
                "extractive_posts": u.extractive_posts,
                "last_problem": redact(u.last_problem) if u.last_problem else None,
                "last_problem_at": u.last_problem_at,
                "last_post_note": redact(u.last_post_note) if u.last_post_note else None}


async def report(db: Database, settings: Settings, now: dt.datetime) -> LlmReport | None:
    """The status report's model line, None when [llm] is off."""
    s = settings.llm
    if not s.enabled:
        return None
    usage = await llm_cache.get_usage(db, now.astimezone(dt.UTC).date(), s.model)
    return LlmReport(s.model, s.base_url, s.daily_token_budget, usage)
