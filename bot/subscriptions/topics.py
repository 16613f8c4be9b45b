"""Topics as users type them: validation, the canonical form, user ids.

A topic is a search query (storage.search.query), so it is parsed by the same parser and matched
with the same tokenizer as search. Its canonical form — terms lower-cased, clauses, alternatives and
exclusions sorted — is what is stored, deduplicated per user and matched once across all users:
"KV cache -vision" and "cache kv -Vision" are the same topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from bot.schedule.settings import ScheduleError, parse_target
from storage.search import AnyOf, Query, QueryError, Term, parse
from storage.subscriptions import tokenize

MAX_TOPIC_CHARS = 200  # shown as a heading in notifications (Discord field names stop at 256)
_USER = re.compile(r"^(discord):(\d{1,20})$|^(console):([\w.\-]{1,64})$")


class SubscriptionError(ValueError):
    """Something a user asked for that cannot be done; `str(exc)` says what and why, shortly."""


@dataclass(frozen=True, slots=True)
class Topic:
    text: str  # as typed (white space collapsed): what lists show
    query: Query  # canonical
    key: str  # str(query): stored, deduplicated and matched on


def parse_user(text: str) -> str:
    """A user id: "discord:1234" (bare digits mean Discord) or "console:alice"."""
    try:
        value = parse_target(text, "user")  # the same id forms as servers and channels, then stricter
    except ScheduleError:
        value = ""
    if not _USER.match(value):
        raise SubscriptionError(f"user '{text}' is not an id like discord:123456 or console:alice")
    return value


def _lower(term: Term) -> Term:
    # FTS5 folds case itself, so lower-casing changes nothing it matches; the check guards the odd
    # letter whose Python lower-case tokenizes differently (then the term is kept as typed).
    low = term.text.lower()
    if low == term.text:
        return term
    forms = tokenize([term.text, low])
    return replace(term, text=low) if forms[term.text] == forms[low] else term


def _term_order(term: Term) -> tuple[str, bool, bool]:
    return (term.text, term.prefix, term.title_only)


def canonical(query: Query) -> Query:
    """The query with terms lower-cased and every list sorted (AND and OR do not care about order)."""
    clauses = {AnyOf(tuple(sorted({_lower(t) for t in c.terms}, key=_term_order))) for c in query.required}
    return Query(tuple(sorted(clauses, key=lambda c: [_term_order(t) for t in c.terms])),
                 tuple(sorted({_lower(t) for t in query.excluded}, key=_term_order)))


def parse_topic(text: str) -> Topic:
    """Validate a topic. Raises SubscriptionError naming what is wrong."""
    shown = " ".join(text.split())
    if len(shown) > MAX_TOPIC_CHARS:
        raise SubscriptionError(f"the topic is too long ({len(shown)} characters); keep it under {MAX_TOPIC_CHARS}")
    try:
        query = canonical(parse(shown))
    except QueryError as exc:
        raise SubscriptionError(f"that topic cannot be used: {exc}") from None
    return Topic(shown, query, str(query))


@lru_cache(maxsize=100_000)
def query_of(key: str) -> Query:
    """A stored canonical key back as a query (cached: matching meets the same keys every digest)."""
    return parse(key)
