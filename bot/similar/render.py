"""How similar papers and recommendations are shown: one card each, for every transport, the weekly
direct message included. Every title, word and link is made safe and cut to Discord's limits."""

from __future__ import annotations

from bot.chat import limits
from bot.chat.replies import Button, Card, Reply
from bot.community import actions
from bot.display.titles import shown_title
from bot.similar.index import Coverage
from bot.similar.service import Match, Recommendations
from bot.summary.render import url_ok
from storage.records import StoredPaper

_TITLE = 160
_WORDS = 120


def _linked(paper: StoredPaper) -> str:
    title = limits.safe(shown_title(paper.title) or "(untitled)", _TITLE) or "(untitled)"
    url = paper.links.get("arxiv") or (f"https://arxiv.org/abs/{paper.arxiv_id}" if paper.arxiv_id else None)
    return f"[{title}]({url})" if url_ok(url) else title


def _lines(matches: list[Match]) -> str:
    lines = []
    for n, m in enumerate(matches, 1):
        shared = limits.safe(", ".join(m.words), _WORDS) if m.words else ""
        facts = f"{round(m.score * 100)}% alike" + (f" · {shared}" if shared else "")
        lines.append(f"**{n}.** {_linked(m.paper)}\n{facts}")
    return limits.truncate("\n".join(lines), 4000)


def _more_buttons(matches: list[Match]) -> list[Button]:
    return [Button(f"≈ {n}", action=actions.similar_action(m.paper.id)) for n, m in enumerate(matches, 1)]


def similar_reply(paper: StoredPaper, matches: list[Match], *, building: Coverage | None = None) -> Reply:
    """/similar and the ≈ More like this button: the paper's nearest neighbours. `building`: how
    far the index is, said when nothing was found while it is incomplete."""
    title = limits.safe(shown_title(paper.title) or "(untitled)", 200) or "(untitled)"
    if not matches and building is not None and not building.complete:
        return Reply(text=limits.truncate(f"Nothing like **{title}** found yet: the archive is still being indexed "
                                          f"for similar papers ({building.text()}). Try again later.",
                                          limits.CONTENT))
    if not matches:
        return Reply(text=limits.truncate(f"No paper in the archive is like **{title}** yet: it shares no "
                                          "distinctive words with the others.", limits.CONTENT))
    card = Card(title=limits.truncate(f"More like: {title}", limits.EMBED_TITLE), description=_lines(matches),
                footer="Nearest by TF-IDF of title and abstract (words and word pairs); the words they share "
                       "weighed most · ≈ n: more like paper n")
    return Reply(cards=[card], buttons=_more_buttons(matches))


def recommend_reply(found: Recommendations, *, weekly: bool, note: str = "", direct: bool = False) -> Reply:
    """/recommend's answer (private), or the weekly message (`direct`)."""
    period = "today" if found.days == 1 else f"the last {found.days} days"
    if not found.seeds:
        return Reply(text=limits.truncate(f"{note}Recommendations are made from the papers you saved (☆ Save) and "
                                          "voted for (▲ Vote): none yet.", limits.CONTENT), private=True)
    if not found.matches:
        return Reply(text=limits.truncate(f"{note}Nothing from {period} is like the {found.seeds} papers you saved "
                                          "and voted for; try more days.", limits.CONTENT), private=True)
    when = "this week" if direct else period
    seeds = f"{found.seeds} paper{'s' if found.seeds != 1 else ''}"
    weekly_note = ("weekly message: on (/recommend weekly:off stops it)" if weekly
                   else "/recommend weekly:on sends these each week")
    card = Card(title=f"For you: papers from {when}", description=_lines(found.matches),
                footer=f"Like the {seeds} you saved and voted for; the words that weighed most · {weekly_note}")
    return Reply(text=limits.truncate(note.strip(), limits.CONTENT), cards=[card],
                 buttons=[] if direct else _more_buttons(found.matches), private=not direct)
