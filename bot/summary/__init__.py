"""The daily summary: what a digest was about, the papers that stand out, the full list.

    summary = await compose(db, digest, highlights=5)   # bot.summary.compose
    pages = render_pages(summary)                       # list[Reply]: page 1 is the post
    text = render_text(summary); data = to_json(summary)

Deterministic and transport-free: the poster, the console and `paperboy digest` share it.
"""

from bot.summary.compose import Group, Highlight, PaperItem, Summary, compose
from bot.summary.render import page_action, parse_action, render_pages, render_text, to_json
from bot.summary.takeaways import Figure
from bot.summary.themes import Theme

__all__ = ["Figure", "Group", "Highlight", "PaperItem", "Summary", "Theme", "compose", "page_action",
           "parse_action", "render_pages", "render_text", "to_json"]
