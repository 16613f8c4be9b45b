""""Why did I (not) get this paper?" for a user, a topic (or all their topics) and a paper.

The paper is matched against the topic with the same evaluator notifications use, clause by
clause, so the answer names the words found, the clause that found nothing and the exclusion that
ruled it out. Then the notification log says whether, when and how the user was told, or the likely
reason they were not (paused, subscribed after the digest, an archive load, no listing at all).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.config import SubscriptionSettings
from bot.lookup.reference import FORMS, find_by_reference
from bot.subscriptions.matching import DigestIndex, prepare
from bot.subscriptions.notify import BULK_FORMATS
from bot.subscriptions.topics import SubscriptionError, parse_topic, parse_user, query_of
from storage import notifications as notification_repo
from storage import papers as paper_repo
from storage import subscriptions as sub_repo
from storage.db import Database
from storage.notifications import NotificationRecord
from storage.records import StoredPaper
from storage.search import Query


@dataclass(frozen=True, slots=True)
class Explanation:
    user_id: str
    topic: str  # as the user saved it (or typed it, when not followed)
    query: str  # canonical
    paper_id: int
    title: str
    subscribed: bool
    matches: bool
    matched_terms: tuple[str, ...]
    reasons: tuple[str, ...]  # sentences, most important first
    notification: NotificationRecord | None  # the notification that listed the paper, if any


async def find_paper(db: Database, ref: str) -> StoredPaper:
    """A paper as any command prints one (bot.lookup.reference: "id:123", "123", an arXiv id or URL)."""
    paper = await find_by_reference(db, ref)
    if paper is None:
        raise SubscriptionError(f"no paper '{ref}' in the archive: give {FORMS}")
    return paper


def _quoted(terms: list[str]) -> str:
    return ", ".join(f"“{t}”" for t in terms)


def _match_reasons(query: Query, paper: StoredPaper) -> tuple[bool, tuple[str, ...], list[str]]:
    index = DigestIndex.build([sub_repo.PaperText(paper.id, paper.title, paper.abstract)])
    tokens = prepare([query])
    found = [str(t) for t in query.positive_terms() if index.term_mask(t, tokens[t.text])]
    reasons = []
    for clause in query.required:
        if not any(index.term_mask(t, tokens[t.text]) for t in clause.terms):
            words = [str(t) for t in clause.terms]
            where = "its title" if all(t.title_only for t in clause.terms) else "its title or abstract"
            if len(words) > 1:
                reasons.append(f"none of {_quoted(words)} appears in {where}")
            else:
                reasons.append(f"{_quoted(words)} does not appear in {where}")
    for term in query.excluded:
        if index.term_mask(term, tokens[term.text]):
            reasons.append(f"it mentions “{term}”, which the topic excludes")
    matches = not reasons
    if matches:
        reasons.append(f"it matches: {_quoted(found)} found")
    return matches, tuple(found), reasons


async def _notification_reasons(db: Database, settings: SubscriptionSettings, user_id: str, paper: StoredPaper,
                            created: dt.datetime | None) -> tuple[NotificationRecord | None, list[str]]:
    told = await notification_repo.notification_of(db, user_id, paper.id)
    if told is not None:
        notification, _item, position = told
        where = f" for {notification.digest_source} {notification.digest_date}" if notification.digest_date else ""
        way = "direct message" if notification.kind == "direct" else "mention in the server's digest thread"
        status = {"sent": "sent", "pending": "waiting to be sent", "sending": "being sent"}.get(
            notification.status, f"{notification.status}: {notification.reason or 'no reason recorded'}")
        reasons = [f"it was in notification #{notification.id}{where} ({way}, {status})"]
        cap = (await sub_repo.get_prefs(db, user_id)).cap or settings.default_cap
        if position >= cap:
            reasons.append(f"it was counted under “and N more”, past your cap of {cap} papers per message")
        return notification, reasons
    prefs = await sub_repo.get_prefs(db, user_id)
    listings = await paper_repo.listings(db, paper.id)
    if not listings:
        return None, ["you were not notified: no stored digest lists it"]
    if all(x.format in BULK_FORMATS for x in listings):
        return None, ["you were not notified: it came only from an archive load, which notifies nobody"]
    reasons = []
    newest = max(x.date for x in listings)
    if created is not None and created.date() > newest:
        reasons.append(f"you were not notified: you followed this topic on {created.date()}, after the newest "
                       f"digest listing it ({newest}); topics apply to digests loaded after you follow them")
    if prefs.paused:
        reasons.append("you were not notified: your notifications are paused")
    if not reasons:
        reasons.append(f"you were not notified: no notification was queued when its digest ({newest}) loaded "
                       f"(a digest more than {settings.max_digest_age_days} days old when loaded, or loaded "
                       "while your notifications were paused, notifies nobody)")
    return None, reasons


async def explain(db: Database, settings: SubscriptionSettings, user: str, paper_ref: str,
                  topic: str | None = None) -> list[Explanation]:
    """One explanation per topic: the one given, or every topic the user follows."""
    user_id = parse_user(user)
    paper = await find_paper(db, paper_ref)
    followed = {s.query: s for s in await sub_repo.list_subscriptions(db, user_id)}
    if topic is not None:
        parsed = parse_topic(topic)
        pairs = [(followed[parsed.key].topic if parsed.key in followed else parsed.text, parsed.key)]
    elif followed:
        pairs = [(s.topic, s.query) for s in followed.values()]
    else:
        raise SubscriptionError(f"{user_id} follows no topics; name a topic to check")
    out = []
    for shown, key in pairs:
        matches, found, reasons = _match_reasons(query_of(key), paper)
        subscribed = key in followed
        notification = None
        if not subscribed:
            reasons.append("you do not follow this topic")
        elif matches:
            notification, told = await _notification_reasons(db, settings, user_id, paper, followed[key].created_at)
            reasons += told
        out.append(Explanation(user_id, shown, key, paper.id, paper.title, subscribed, matches, found,
                               tuple(reasons), notification))
    return out
