"""`paperboy summarize`, `paperboy ingest` writing the model's summaries of a fresh digest, `paperboy
status` and `paperboy config` with [llm] on, and the API key shown nowhere: through the real CLI
against the loopback fake model server (issue #19)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from pathlib import Path

from bot.samples import SAMPLE_DIGEST
from testkit.llm_fake import Answer, FakeLlm, fake_llm

ROOT = Path(__file__).resolve().parents[3]
KEY = "sk-paperboy-test-key-0123456789abcdef"


async def _paperboy(tmp_path: Path, server: FakeLlm | None, *argv: str, enabled: bool = True,
                    key: str | None = None) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERBOY_", "DISCORD_"))}
    env.update(PYTHONPATH=str(ROOT), PAPERBOY_DATABASE_PATH=str(tmp_path / "p.db"), PAPERBOY_FETCH_ENABLED="false",
               PAPERBOY_LLM_ENABLED="true" if enabled else "false", PAPERBOY_LLM_MODEL="fake-model",
               PAPERBOY_LOGGING_LEVEL="debug")
    if server is not None:
        env["PAPERBOY_LLM_BASE_URL"] = server.base_url
    if key:
        env["PAPERBOY_LLM_API_KEY"] = key
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *argv, cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_summarize_shows_then_fills_the_cache_and_status_counts_it(tmp_path: Path) -> None:
    async with fake_llm() as server:
        code, _, err = await _paperboy(tmp_path, server, "ingest", str(SAMPLE_DIGEST), "--date", "2025-09-09")
        assert code == 0, err
        assert server.requests == []  # an old day is not summarised on load
        code, out, _ = await _paperboy(tmp_path, server, "summarize", "--date", "2025-09-09", "--dry-run")
        assert code == 0 and server.requests == []
        assert out.startswith("hf-daily 2025-09-09 (144 papers), model fake-model (dry run: nothing asked)")
        assert out.count(": not cached: would ask") == 6
        code, out, _ = await _paperboy(tmp_path, server, "summarize", "--date", "2025-09-09")
        assert code == 0 and len(server.requests) == 6
        assert "  Today in papers: written now\n    Today's papers span" in out
        assert out.count("written now\n    The authors present") == 5
        code, out, _ = await _paperboy(tmp_path, server, "summarize", "--json")
        rows = [json.loads(line) for line in out.splitlines()]
        assert code == 0 and {r["status"] for r in rows} == {"cached"} and len(rows) == 6
        assert rows[-1]["kind"] == "overview" and rows[0]["model"] == "fake-model"
        code, out, _ = await _paperboy(tmp_path, server, "status")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert code == 0
    assert f"Model summaries\n  fake-model at {server.base_url}; today ({today} UTC): 6 requests" in out


async def test_summarize_with_llm_off_says_how_to_turn_it_on(tmp_path: Path) -> None:
    code, _, err = await _paperboy(tmp_path, None, "summarize", enabled=False)
    assert code == 2
    assert err == ("paperboy: model summaries are off: set [llm] enabled = true (see docs/llm.md), "
                   "or look at the cache with --dry-run\n")
    code, _, err = await _paperboy(tmp_path, None, "summarize", "--dry-run", enabled=False)
    assert code == 1 and "no digest with papers stored yet" in err


async def test_ingest_of_todays_digest_writes_its_summaries_before_it_ends(tmp_path: Path) -> None:
    today = dt.datetime.now(dt.UTC).date().isoformat()
    async with fake_llm() as server:
        server.script += [Answer(status=503)]
        code, out, err = await _paperboy(tmp_path, server, "ingest", str(SAMPLE_DIGEST), "--date", today, key=KEY)
        assert code == 0, err
        assert len(server.requests) == 7  # one 503 asked again, then the day's six texts
        code, out, _ = await _paperboy(tmp_path, server, "summarize", "--dry-run", key=KEY)
        assert code == 0 and out.count(": cached") == 6
        code, config, _ = await _paperboy(tmp_path, server, "config", key=KEY)
    assert all(h["Authorization"] == f"Bearer {KEY}" for h in server.headers)
    assert f"# LLM API key: (hidden, {len(KEY)} characters), from env PAPERBOY_LLM_API_KEY" in config
    log = (tmp_path / "paperboy.log").read_text(encoding="utf-8")
    assert "HTTP 503 from the model server; asking again in 0.5 s" in log
    for shown in (out, err, config, log):
        assert KEY not in shown
