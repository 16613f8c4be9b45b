"""Chat /ingest reports what the ingest bounds cut, naming the file as the admin sent it."""

from __future__ import annotations

import json
from pathlib import Path

from bot.chat.replies import Attachment
from bot.commands import Context, dispatch


async def test_chat_ingest_says_when_text_was_cut(admin: Context, fixtures: Path) -> None:
    items = json.loads((fixtures / "hf-daily-papers-api-sample.json").read_text())
    items[0]["paper"]["summary"] = "flash " * 200_000
    reply = await dispatch("ingest", {"file": Attachment("big.json", json.dumps(items).encode())}, admin)
    assert reply.text.startswith("Loaded big.json"), reply.text
    assert "Note: big.json, item 1 (arXiv 2306.07629): abstract cut from 1,199,999 to " in reply.text
    assert "/tmp" not in reply.text and "paperboy-ingest-" not in reply.text
