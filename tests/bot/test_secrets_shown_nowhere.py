"""Secrets never shown (issue #21): the token in an error body that echoes the request, and the
user info of URLs, through the real `paperboy run`, the log, `/status` and `paperboy status`."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import sys
from pathlib import Path

import pytest
from aiohttp import web

from bot.cli import main
from bot.config import Secret
from bot.download.errors import DownloadError
from bot.redact import RedactingFormatter, redact, register_secret
from storage import fetch_state
from storage.backends import open_database

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GhIjKl.secret-token-value-for-tests-0123456789"


async def _echoing_api(body_kind: str) -> tuple[web.AppRunner, str]:
    """A Discord API base whose every answer is a 400 echoing the request's headers."""

    async def echo(request: web.Request) -> web.Response:
        headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
        if body_kind == "json":
            return web.json_response({"message": f"bad request; you sent {headers}", "code": 50035}, status=400)
        return web.Response(text=f"<html>proxy error; request was:\n{headers}</html>", status=400)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/api/v10"


@pytest.mark.parametrize("body_kind", ["text", "json"])
async def test_run_never_prints_the_token_an_error_body_echoes(tmp_path: Path, body_kind: str) -> None:
    runner, api_base = await _echoing_api(body_kind)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERBOY_", "DISCORD_"))}
        env.update(PYTHONPATH=str(ROOT), DISCORD_TOKEN=TOKEN, PAPERBOY_DATABASE_PATH=str(tmp_path / "p.db"),
                   PAPERBOY_FETCH_ENABLED="false", PAPERBOY_DISCORD_API_BASE=api_base, PAPERBOY_LOGGING_LEVEL="debug",
                   PAPERBOY_DISCORD_GATEWAY_URL="ws://127.0.0.1:9/")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        await runner.cleanup()
    shown = out.decode() + err.decode() + (tmp_path / "paperboy.log").read_text(encoding="utf-8")
    assert process.returncode == 1, shown
    assert "the Discord connection failed: HTTP 400 Bad Request" in err.decode()
    assert TOKEN not in shown
    assert "Bot MTIz" not in shown
    if body_kind == "text":
        assert "proxy error" not in err.decode()  # a body that is not Discord's JSON is never shown


def test_redact_hides_registered_secrets_auth_headers_and_url_user_info() -> None:
    Secret("another-secret-value-1234", origin=None)  # type: ignore[arg-type]
    assert redact("token another-secret-value-1234 here") == "token [redacted] here"
    assert redact("Authorization: Bot abc.def-ghi") == "Authorization: Bot [redacted]"
    assert redact('{"authorization": "Bearer xyz123"}') == '{"authorization": "Bearer [redacted]"}'
    assert redact("fetch http://user:pass@host.example/feed failed") == "fetch http://***@host.example/feed failed"
    assert redact("see https://host/a@b") == "see https://host/a@b"  # an @ in the path is not user info
    register_secret("short")  # too short to hide without blanking ordinary words
    assert redact("a short note") == "a short note"


def test_log_lines_and_tracebacks_are_redacted() -> None:
    register_secret(TOKEN)
    try:
        raise RuntimeError(f"boom with {TOKEN} at https://u:p@h/x")
    except RuntimeError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed for %s", (TOKEN,), sys.exc_info())
    text = RedactingFormatter("%(message)s").format(record)
    assert TOKEN not in text and "u:p@" not in text and "[redacted]" in text


def test_a_download_error_names_the_url_without_its_password() -> None:
    exc = DownloadError("http://reader:hunter22@feeds.example/rss", "HTTP 503")
    assert str(exc) == "http://***@feeds.example/rss: HTTP 503"


async def _failed_source(db_path: Path) -> None:
    async with await open_database(db_path) as db:
        await fetch_state.record_failure(db, "arxiv-rss:cs.LG", dt.datetime.now(dt.UTC),
                                         "http://reader:hunter22@feeds.example/rss: HTTP 503",
                                         lambda failures: dt.timedelta(minutes=1))


def test_status_hides_the_user_info_stored_in_an_old_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "p.db"
    asyncio.run(_failed_source(db))
    assert main(["--db", str(db), "status"]) in (0, 1)
    text = capsys.readouterr().out
    assert "feeds.example" in text and "hunter22" not in text and "reader:" not in text
    assert main(["--db", str(db), "status", "--json"]) in (0, 1)
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert rows and "hunter22" not in json.dumps(rows)


def test_status_hides_the_model_servers_user_info_and_key(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue #19: the [llm] server's URL may carry a password, and PAPERBOY_LLM_API_KEY is a secret."""
    key = "sk-llm-key-for-the-status-test-0123456789"
    monkeypatch.setenv("PAPERBOY_LLM_ENABLED", "true")
    monkeypatch.setenv("PAPERBOY_LLM_BASE_URL", "https://proxy:hunter22@llm.example/v1")
    monkeypatch.setenv("PAPERBOY_LLM_API_KEY", key)
    register_secret(key)
    db = tmp_path / "p.db"
    assert main(["--db", str(db), "status"]) in (0, 1)
    assert main(["--db", str(db), "status", "--json"]) in (0, 1)
    status = capsys.readouterr().out
    assert "Model summaries\n  llama3.2 at https://***@llm.example/v1" in status
    assert '"base_url": "https://***@llm.example/v1"' in status
    assert main(["--db", str(db), "config"]) == 0
    config = capsys.readouterr().out
    assert 'base_url = "https://proxy:********@llm.example/v1"' in config
    for text in (status, config):
        assert "hunter22" not in text and key not in text
