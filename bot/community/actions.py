"""The custom ids of the community buttons: each carries all it needs, so a press is answered
after a restart, by any process, with no state kept in memory.

    vote:<paper id>                 vote for the paper in this server, or take the vote back
    save:<paper id>                 save the paper to the presser's library, or take it out
    like:<paper id>                 the papers most like it (/similar)
    lib:p<page>                     a page of the presser's library (/library list)
    lib:rm:<paper id>:p<page>       remove that paper, then show that page again

Ids are decimal database ids (at most 19 digits), so every custom id stays far below Discord's 100
characters.
"""

from __future__ import annotations

import re

from bot.chat.replies import Button

VOTE = "vote"
SAVE = "save"
LIBRARY = "lib"
SIMILAR = "like"

_PAPER = re.compile(r"^(vote|save|like):(\d{1,19})$")
_LIBRARY = re.compile(r"^lib:(?:rm:(\d{1,19}):)?p(\d{1,6})$")


def vote_action(paper_id: int) -> str:
    return f"{VOTE}:{paper_id}"


def save_action(paper_id: int) -> str:
    return f"{SAVE}:{paper_id}"


def similar_action(paper_id: int) -> str:
    return f"{SIMILAR}:{paper_id}"


def library_page_action(page: int) -> str:
    return f"{LIBRARY}:p{page}"


def library_remove_action(paper_id: int, page: int) -> str:
    return f"{LIBRARY}:rm:{paper_id}:p{page}"


def paper_buttons(paper_id: int) -> list[Button]:
    """The ▲ Vote, ☆ Save and ≈ More like this buttons of a paper's card."""
    return [Button("▲ Vote", action=vote_action(paper_id)), Button("☆ Save", action=save_action(paper_id)),
            Button("≈ More like this", action=similar_action(paper_id))]


def paper_of(action: str) -> int | None:
    """The paper id of a vote, save or more-like-this button, None when `action` is not one."""
    m = _PAPER.match(action)
    return int(m.group(2)) if m else None


def library_action(action: str) -> tuple[int | None, int] | None:
    """(paper to remove or None, page) of a library button, None when `action` is not one."""
    m = _LIBRARY.match(action)
    if not m:
        return None
    return (int(m.group(1)) if m.group(1) else None), int(m.group(2))
