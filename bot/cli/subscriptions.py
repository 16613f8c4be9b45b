"""`paperboy subscribe/unsubscribe/subscriptions/deliveries`: per-user topics, their preferences,
"why did I (not) get this paper?", and the notification log."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.common import CliContext, CliError, add_json_flag, date_arg, positive_int, print_json
from bot.display.titles import shown_title
from bot.subscriptions import service
from bot.subscriptions.explain import Explanation, explain
from bot.subscriptions.service import Preview
from bot.subscriptions.topics import SubscriptionError, parse_user
from storage import notifications as notification_repo
from storage.notifications import STATUSES, NotificationRecord
from storage.subscriptions import DELIVERY_KINDS, Subscription, UserPrefs


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("subscribe",
                       description="Follow a topic: a search query (words, \"phrases\", -exclusions, OR, "
                                   "title:word, prefix*). Prints how many papers it matched lately.")
    p.add_argument("user", metavar="USER", help="user id: discord:123 (bare digits mean Discord) or console:NAME")
    p.add_argument("topic", metavar="TOPIC", help='e.g. "kv cache -vision"')
    p.add_argument("--preview", action="store_true", help="only show the preview; save nothing")
    add_json_flag(p)
    p.set_defaults(handler=run_subscribe)

    p = sub.add_parser("unsubscribe")
    p.add_argument("user", metavar="USER", help="user id: discord:123 (bare digits mean Discord) or console:NAME")
    p.add_argument("topic", metavar="TOPIC",
                   help="the topic as it was typed, or its number in `paperboy subscriptions USER`")
    add_json_flag(p)
    p.set_defaults(handler=run_unsubscribe)

    p = sub.add_parser("subscriptions",

                       description="Everyone's topics, or one user's with their preferences. With options, "
                                   "change that user's preferences; with --why, explain a paper.")
    p.add_argument("user", metavar="USER", nargs="?", help="one user (discord:123 or console:NAME); default: everyone")
    paused = p.add_mutually_exclusive_group()
    paused.add_argument("--pause", action="store_true", help="pause all of the user's notifications")
    paused.add_argument("--resume", action="store_true", help="resume them (what loaded meanwhile is not sent)")
    p.add_argument("--delivery", choices=DELIVERY_KINDS,
                   help="direct message, or a mention in the server's digest thread")
    p.add_argument("--server", help="the server for channel mentions (discord:123 or console:NAME; '' forgets it)")
    p.add_argument("--cap", type=positive_int, help="papers listed per notification before 'and N more'")
    p.add_argument("--fallback", action=argparse.BooleanOptionalAction, default=None,
                   help="when the preferred way fails for good, use the other (default: on)")
    p.add_argument("--why", metavar="PAPER",
                   help="explain this paper for the user: id:22, 22, an arXiv id or URL, arxiv:ID (as `paper` prints)")
    p.add_argument("--topic", help="with --why: only this topic (default: every topic of the user)")
    add_json_flag(p)
    p.set_defaults(handler=run_subscriptions)

    p = sub.add_parser("deliveries",

                       description="Topic notifications, newest first.")
    p.add_argument("--digest", type=date_arg, metavar="DATE", help="only notifications for digests of this date")
    p.add_argument("--status", choices=STATUSES, help="only this status")
    p.add_argument("--user", help="only this user")
    p.add_argument("--limit", type=positive_int, default=50, help="at most this many (default 50)")
    add_json_flag(p)
    p.set_defaults(handler=run_deliveries)


def _preview_json(p: Preview) -> dict[str, Any]:
    return {"query": p.topic.key, "days": p.days, "until": p.until, "matches": p.count,
            "recent": [{"paper_id": r.paper_id, "title": shown_title(r.title), "listed": r.listed,
                        "terms": list(r.terms)} for r in p.recent]}


def _print_preview(p: Preview) -> None:
    if p.until is None:
        print("  No digests stored yet: nothing to preview.")
        return
    print(f"  {p.count} paper{'s' if p.count != 1 else ''} matched in the {p.days} days up to {p.until}.")
    for r in p.recent:
        print(f"  {r.listed}  {shown_title(r.title)}  [matched: {', '.join(r.terms)}]")


def _subscription_json(s: Subscription) -> dict[str, Any]:
    return {"id": s.id, "user": s.user_id, "topic": s.topic, "query": s.query, "created_at": s.created_at}


def _prefs_json(p: UserPrefs) -> dict[str, Any]:
    return {"user": p.user_id, "paused": p.paused, "delivery": p.delivery, "fallback": p.fallback,
            "server": p.guild_id, "cap": p.cap}


async def _guarded(work: Any) -> Any:
    """Await `work`; a refusal becomes a one-line CLI error (exit status 1)."""
    try:
        return await work
    except SubscriptionError as exc:
        raise CliError(str(exc), status=1) from None


async def run_subscribe(ctx: CliContext) -> int:
    a = ctx.args
    db = await ctx.db()
    done = await _guarded(service.subscribe(db, ctx.settings.subscriptions, a.user, a.topic, save=not a.preview))
    if a.json:
        print_json({"saved": done.subscription is not None, "topics": done.count, "limit": done.limit,
                    "subscription": _subscription_json(done.subscription) if done.subscription else None,
                    "preview": _preview_json(done.preview)})
        return 0
    if done.subscription:
        print(f"Following “{done.subscription.topic}” ({done.count} of {done.limit} topics).")
    else:
        print(f"Preview of “{done.preview.topic.text}” (not saved).")
    _print_preview(done.preview)
    return 0


async def run_unsubscribe(ctx: CliContext) -> int:
    removed = await _guarded(service.unsubscribe(await ctx.db(), ctx.args.user, ctx.args.topic))
    if ctx.args.json:
        print_json({"removed": _subscription_json(removed)})
    else:
        print(f"No longer following “{removed.topic}”.")
    return 0


def _explanation_json(e: Explanation) -> dict[str, Any]:
    return {"user": e.user_id, "topic": e.topic, "query": e.query, "paper_id": e.paper_id,
            "title": shown_title(e.title), "subscribed": e.subscribed, "matches": e.matches,
            "terms": list(e.matched_terms), "reasons": list(e.reasons),
            "delivery": e.notification.id if e.notification else None}


async def run_subscriptions(ctx: CliContext) -> int:
    a = ctx.args
    db = await ctx.db()
    settings = ctx.settings.subscriptions
    changes = {"paused": True if a.pause else False if a.resume else None, "delivery": a.delivery,
               "server": a.server, "cap": a.cap, "fallback": a.fallback}
    wants_change = any(v is not None for v in changes.values())
    if (wants_change or a.why) and not a.user:
        raise CliError("name the USER whose preferences to change or whose paper to explain")
    if a.topic and not a.why:
        raise CliError("--topic goes with --why PAPER")
    if a.why:
        found = await _guarded(explain(db, settings, a.user, a.why, a.topic))
        if a.json:
            print_json([_explanation_json(e) for e in found])
        for e in [] if a.json else found:
            print(f"“{e.topic}” and {shown_title(e.title)}: {'matches' if e.matches else 'does not match'}")
            for reason in e.reasons:
                print(f"  - {reason}")
        return 0
    if wants_change:
        await _guarded(service.set_preferences(db, a.user, **changes))
    subs = await _guarded(service.topics(db, a.user))
    prefs = await _guarded(service.preferences(db, a.user)) if a.user else None
    if a.json:
        print_json({"preferences": _prefs_json(prefs) if prefs else None,
                    "subscriptions": [_subscription_json(s) for s in subs]})
        return 0
    if prefs is not None:
        cap = prefs.cap or settings.default_cap
        print(f"{prefs.user_id}: {'paused' if prefs.paused else 'active'}, by {prefs.delivery}"
              f"{' (falls back to the other way)' if prefs.fallback else ''}, server {prefs.guild_id or '-'}, "
              f"{cap} papers per message, {len(subs)} of {settings.max_topics} topics")
    if not subs:
        print("No topics followed.")
    for s in subs:
        print(f"{s.id:>6}  {s.user_id:<24} {s.topic}")
    return 0


def _notification_json(d: NotificationRecord) -> dict[str, Any]:
    return {"id": d.id, "kind": d.kind, "user": d.user_id, "digest": d.digest_date, "source": d.digest_source,
            "status": d.status, "reason": d.reason, "attempts": d.attempts, "channel": d.channel_id,
            "papers": [shown_title(p.title) for p in d.papers], "paper_ids": [p.paper_id for p in d.papers],
            "created_at": d.created_at, "updated_at": d.updated_at}


async def run_deliveries(ctx: CliContext) -> int:
    a = ctx.args
    try:
        user = parse_user(a.user) if a.user else None
    except SubscriptionError as exc:
        raise CliError(str(exc), status=1) from None
    rows = await notification_repo.list_notifications(await ctx.db(), digest_date=a.digest, status=a.status,
                                                      user_id=user, limit=a.limit)
    if a.json:
        print_json([_notification_json(d) for d in rows])
        return 0
    if not rows:
        print("No notifications match.")
    for d in rows:
        digest = f"{d.digest_source} {d.digest_date}" if d.digest_date else "-"
        print(f"{d.id:>6}  {d.kind:<7} {d.user_id:<24} {digest:<24} {d.status}"
              + (f" ({d.reason})" if d.reason else ""))
        for p in d.papers:
            print(f"          - {shown_title(p.title)}")
    return 0

