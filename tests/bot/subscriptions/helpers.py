"""Test helpers for subscriptions: papers and digests to load, an Outbound with direct messages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.chat.outbound import RecipientUnreachable, Sent
from bot.chat.replies import Reply
from bot.config import SubscriptionSettings
from bot.subscriptions.notify import NotificationQueue, notification_hook
from storage.db import Database
from storage.loader import Loader
from storage.records import LoadResult, PaperRecord, ParsedDigest
from tests.bot.schedule.fakes import Crash, FakeOutbound

DAY = dt.date(2025, 9, 9)
NOW = dt.datetime(2025, 9, 9, 8, 0, tzinfo=dt.UTC)
SETTINGS = SubscriptionSettings()

PAPERS = [
    PaperRecord("Speculative Decoding with Draft Heads", "We accelerate LLM inference by speculative decoding.",
                "2501.00001", links={"arxiv": "https://arxiv.org/abs/2501.00001"}),
    PaperRecord("3D Gaussian Splatting in the Wild", "Gaussian splatting for unconstrained photo collections.",
                "2501.00002"),
    PaperRecord("Compressing the KV Cache", "A KV cache compression method for long-context language models.",
                "2501.00003"),
    PaperRecord("KV Cache for Vision Transformers", "We study the KV cache of vision transformers.", "2501.00004"),
    PaperRecord("Decoding Strategies Revisited", "Greedy and sampling decoding of language models.", "2501.00005"),
]


def digest(papers: list[PaperRecord], day: dt.date = DAY, *, source: str = "hf-daily", fmt: str = "hf-api",
           complete: bool = True) -> ParsedDigest:
    return ParsedDigest(source, day, fmt, list(papers), complete=complete)


def loader(db: Database, now: dt.datetime = NOW, settings: SubscriptionSettings = SETTINGS) -> Loader:
    """A Loader wired as the app's is for notifications: a marker in the load, queued after its commit."""
    return Loader(db, after_load=[notification_hook(settings, clock=lambda: now)],
                  after_commit=[NotificationQueue(db, clock=lambda: now).after_commit])


async def load(db: Database, papers: list[PaperRecord] | None = None, **kw: object) -> LoadResult:
    return await loader(db).load(digest(PAPERS if papers is None else papers, **kw))  # type: ignore[arg-type]


@dataclass
class Outbox(FakeOutbound):
    """FakeOutbound that also takes direct messages; users in `closed` have their DMs closed."""

    direct: list[tuple[str, Reply]] = field(default_factory=list)
    closed: set[str] = field(default_factory=set)
    direct_keys: dict[str, str] = field(default_factory=dict)  # key -> message id
    crash_after_direct: bool = False

    async def send_direct(self, user_id: str, reply: Reply, *, key: str | None = None) -> Sent:
        if self.fail_next:
            raise self.fail_next.pop(0)
        if user_id in self.closed:
            raise RecipientUnreachable("Cannot send messages to this user (50007)")
        if key is not None and key in self.direct_keys:  # Discord's enforce_nonce, as for posts
            return Sent(f"dm:{user_id}", self.direct_keys[key])
        self.direct.append((user_id, reply))
        if key is not None:
            self.direct_keys[key] = f"d{len(self.direct)}"
        if self.crash_after_direct:
            self.crash_after_direct = False
            raise Crash()
        return Sent(f"dm:{user_id}", f"d{len(self.direct)}")


def titles_in(reply: Reply) -> str:
    """Everything a reply shows, as one string."""
    cards = [f"{c.title}\n{c.description}\n" + "\n".join(f"{f.name}: {f.value}" for f in c.fields) + f"\n{c.footer}"
             for c in reply.cards]
    return "\n".join([reply.text, *cards])
