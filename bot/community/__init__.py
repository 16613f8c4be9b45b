"""Community signals and personal libraries (issue #18): votes, what's hot, saved papers, exports.

Transport-free, reached through `Services.community` (bot/commands/context.py) by the chat
commands (bot/commands/community.py) and by the CLI (bot/cli/community.py):

    actions.py  the buttons' custom ids ("vote:<paper id>", "save:<paper id>", "lib:…")
    top.py      /top: a server's votes of a period blended with the source's upvotes
    export.py   a list of papers as BibTeX, CSV or JSON Lines
    service.py  CommunityService: resolve a PAPER, vote, rank, save, list, export

Storage: storage/votes.py (one vote per member per paper per server) and storage/library.py.
"""

from bot.community.service import CommunityError, CommunityService

__all__ = ["CommunityError", "CommunityService"]
