"""The daily summary: what a digest was about, the papers that stand out, the full list.

    summary = await compose(db, digest, highlights=5)   # bot.summary.compose
    pages = render_pages(summary)                       # list[Reply]: page 1 is the post
    text = render_text(summary); data = to_json(summary)
    pages = await render_digest(db, digest)             # both steps, for the poster's `render`

Deterministic and transport-free: the poster, the console and `paperboy digest` share it.
"""

from bot.chat.replies import Reply
from bot.summary.compose import Group, Highlight, PaperItem, Summary, compose
from bot.summary.render import page_action, parse_action, render_pages, render_text, to_json
from bot.summary.takeaways import Figure
from bot.summary.themes import Theme
from storage.db import Database
from storage.records import DigestInfo

__all__ = ["Figure", "Group", "Highlight", "PaperItem", "Summary", "Theme", "compose", "page_action",
           "parse_action", "render_digest", "render_pages", "render_text", "to_json"]


async def render_digest(db: Database, digest: DigestInfo, *, highlights: int = 5, site: str = "") -> list[Reply]:
    """The pages of `digest`'s daily post (`functools.partial(render_digest, db)` is a poster `Render`)."""
    return render_pages(await compose(db, digest, highlights=highlights), site=site)
