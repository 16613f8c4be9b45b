"""Optional summaries written by a model through any OpenAI-compatible server (issue #19; docs/llm.md).

    client.py   the chat-completions client (aiohttp; one body or a stream; timeout, retries)
    prompts.py  what is asked: the papers' own text in data blocks, a versioned wording
    checks.py   what an answer must pass before it is used (length, no mentions or links, figures)
    budget.py   the daily token budget
    service.py  the service the app wires in: written when a digest loads, read by the post

Off unless `[llm] enabled = true`; the post never waits for it (see service.py).
"""

from bot.llm.client import ChatClient, Completion, LlmError
from bot.llm.service import DigestRun, LlmReport, LlmService, Outcome, report

__all__ = ["ChatClient", "Completion", "DigestRun", "LlmError", "LlmReport", "LlmService", "Outcome", "report"]
