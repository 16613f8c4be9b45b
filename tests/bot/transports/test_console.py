"""The console end to end: scripted standard input through `python -m bot … console`, and in-process
sessions with injected input; line parsing and plain-text rendering."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.chat.replies import Button, Card, Field, Reply
from bot.commands import suggest
from bot.commands.errors import UsageError
from bot.transports import console
from bot.transports.console import Candidate, Session, candidates, complete, run
from bot.transports.console_parse import parse
from bot.transports.console_render import plain, render
from tests.bot.commands.conftest import open_app

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(("line", "name", "options"), [
    ("/search diffusion", "search", {"query": "diffusion"}),
    ("/search diffusion models", "search", {"query": "diffusion models"}),
    ("/search query:diffusion since:2025-09-01", "search", {"query": "diffusion", "since": "2025-09-01"}),
    ("/search query:diffusion models until:2025-09-30", "search", {"query": "diffusion models", "until": "2025-09-30"}),
    ('/search "vision transformer" title:agent', "search", {"query": "vision transformer title:agent"}),
    ("/Setup Channel #papers 09:00 Europe/Berlin thread:no", "setup channel",
     {"channel": "#papers", "time": "09:00", "timezone": "Europe/Berlin", "thread": "no"}),
    ("/notifications cap 5", "notifications cap", {"papers": "5"}),
    ("/digest", "digest", {}),
    ("/digest 2025-09-09", "digest", {"date": "2025-09-09"}),
    ('/why diffusion "Q-Diffusion: Quantizing"', "why", {"topic": "diffusion", "paper": "Q-Diffusion: Quantizing"}),
    ("/paper it's unbalanced", "paper", {"title": "it's unbalanced"}),
    ("/nosuch a b", "nosuch", {}),
])
def test_parse(line: str, name: str, options: dict[str, str]) -> None:
    parsed = parse(line)
    assert (parsed.name, parsed.options) == (name, options)


@pytest.mark.parametrize("line", ["search x", "/", "/about extra words"])
def test_parse_refuses(line: str) -> None:
    with pytest.raises(UsageError):
        parse(line)


def test_render_is_plain_text() -> None:
    assert plain(r"**1.** __Flash__ \*not bold\* [arXiv](https://arxiv.org/abs/1) \<@123\>") == \
        "1. Flash *not bold* arXiv <https://arxiv.org/abs/1> <@123>"
    reply = Reply(text="hi\x1b[31m", cards=[Card("T", "d", fields=[Field("F", "v")], footer="f")],
                  buttons=[Button("Next ▶", "search:2::x")], private=True)
    assert render(reply) == ("(only you see this)\nhi[31m\n== T\n  d\n  F:\n    v\n  -- f\n"
                             "[1] Next ▶   (/press N, /next, /prev)")


def _console(tmp_path: Path, script: str, *args: str) -> str:
    env = {**os.environ, "PAPERBOY_LOG_FILE": str(tmp_path / "log"), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "bot", "--db", str(tmp_path / "p.db"), *args], input=script,
                          capture_output=True, text=True, timeout=240, cwd=ROOT, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    return done.stdout


def test_scripted_console_end_to_end(tmp_path: Path) -> None:
    out = _console(tmp_path, "\n".join([
        "/search diffusion", "/search query:diffusion since:2025-09-01", "/next", "/prev", "/paper flash atention",
        "/digest", "/press 1", "/subscribe diffusion models", "/subscriptions", "/status", "/setup pause",
        "/admin on", "/setup channel #papers 09:00 Europe/Berlin", "/tick", "/tick", "/tick +1d", "/whoami",
        "/as bob", "/subscriptions", "/quit", "/about"]) + "\n", "console", "--sample", "--user", "alice")
    assert "Sample digest: hf-daily 2025-09-09, 144 papers (144 new)." in out
    assert out.count("papers match diffusion") == 4 and "Results 6–10" in out
    assert "FlashAttention: Fast and Memory-Efficient Exact Attention" in out
    assert "Page 2 of" in out and "You now follow “diffusion models”" in out
    assert out.count("is for server admins") == 2
    assert out.count("[#papers post]") == 1  # the simulated clock makes exactly one daily post
    assert "Simulated time: 2025-09-09 07:00 UTC (2025-09-09 09:00 Europe/Berlin)" in out
    assert "skipped: no digest for 2025-09-10" in out
    assert "alice (console:alice), a server admin" in out and "You follow no topics yet" in out
    assert "> /about" not in out  # /quit ended the session


def test_demo_starts_the_console_with_the_sample(tmp_path: Path) -> None:
    out = _console(tmp_path, "/about\n", "demo")
    assert "Sample digest: hf-daily 2025-09-09, 144 papers" in out and "144 papers, 1 digest" in out


async def test_ingest_notifies_subscribers_in_dms_and_the_channel(tmp_path: Path) -> None:
    written: list[str] = []
    app, clock = await open_app(tmp_path, written)
    digest = tmp_path / "sep10.txt"
    digest.write_text("Daily Papers\nSep 10\n\nFaster Diffusion Sampling with Attention Caches\n"
                      "We speed up diffusion models by caching attention.\n\nA Study of Attention Sinks\n"
                      "Attention sinks appear everywhere.\n")
    script = "\n".join(["/subscribe diffusion", "/as bob", "/subscribe attention", "/notifications channel",
                        "/admin on", "/setup channel #papers 09:00 Europe/Berlin thread:no",
                        "/tick 2025-09-10T06:00+00:00", f"/ingest file:{digest}", "/tick"]) + "\n"
    try:
        session = Session(app, clock, written.append, user="alice")
        assert await run(session, io.StringIO(script), interactive=False) == 0
    finally:
        await app.close()
    out = "\n".join(written)
    dm = out.index("[DM to alice]")
    assert "1 new paper for your topics in hf-daily 2025-09-10" in out[dm:]
    assert "@bob papers matching your topics" in out
    assert out.count("[#papers post]") == 2  # bob's mention, then the 09:00 daily post
    assert "== hf-daily · Wed 10 Sep 2025" in out


async def test_tab_completion_uses_the_specs_and_the_autocomplete(tmp_path: Path) -> None:
    written: list[str] = []
    app, clock = await open_app(tmp_path, written)
    try:
        session = Session(app, clock, written.append, user="alice", admin=True)
        assert "/search " in await complete(session, "/se") and "/setup " in await complete(session, "/se")
        assert await complete(session, "/setup c") == ["/setup channel "]
        assert await complete(session, "/search diffusion si") == ["/search diffusion since:"]
        titles = await complete(session, "/paper flash att")
        choices = await suggest("paper", "title", "flash att", session.context())
        assert titles == [f"/paper {c.value}" for c in choices]
        flash = next(c for c in choices if c.name.startswith("FlashAttention:"))
        assert "FlashAttention: Fast" in render(await session._command(f"/paper {flash.value}"))
        assert await complete(session, "/setup channel #papers 09:00 timezone:Europe/Ber") == [
            "/setup channel #papers 09:00 timezone:Europe/Berlin"]
        # The positional form the README shows completes the time zone too.
        assert await complete(session, "/setup channel #papers 09:00 Europe/Ber") == [
            "/setup channel #papers 09:00 Europe/Berlin"]
    finally:
        await app.close()


async def test_tab_on_a_title_lists_titles_and_inserts_what_resolves(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """`/paper flash att<Tab>` at a real prompt_toolkit prompt (issue #20: readline inserted the
    values' common prefix, `/paper id:`, listed no title, and Enter found nothing)."""
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    written: list[str] = []
    app, clock = await open_app(tmp_path, written)
    try:
        session = Session(app, clock, written.append, user="alice")
        shown = await candidates(session, "/paper flash att")
        assert any(c.display.startswith("FlashAttention: Fast") for c in shown)
        assert all(not c.display.startswith("id:") and not c.display.startswith("arxiv:") for c in shown)
        lines: list[str] = []
        handle = session.handle

        async def recorded(line: str) -> bool:
            lines.append(line)
            return await handle(line)

        session.handle = recorded  # type: ignore[method-assign]
        completed = asyncio.Event()

        async def completing(session: Session, line: str) -> list[Candidate]:
            found = await candidates(session, line)
            completed.set()
            return found

        monkeypatch.setattr(console, "candidates", completing)
        with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
            prompt = asyncio.create_task(run(session, io.StringIO(), interactive=True))
            pipe.send_text("/paper flash att\t")  # Tab: the menu lists titles, the first one selected
            await asyncio.wait_for(completed.wait(), 30)
            await asyncio.sleep(0.2)  # the prompt applies the answer on its next turn
            pipe.send_text("\r/quit\r")  # Enter sends the line as completed
            assert await asyncio.wait_for(prompt, 30) == 0
        assert lines[0] == f"/paper {shown[0].line.split(' ', 1)[1]}" and lines[0] != "/paper flash att"
        out = "\n".join(written)
        assert shown[0].display[:40] in out and "no paper resembles" not in out.casefold()
    finally:
        await app.close()


def test_an_over_long_line_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """A megabyte word: refused by its length at once (splitting it like a shell took half a
    minute), shown back cut short, and the session goes on."""
    word = "a" * 1_000_000
    out = _console(tmp_path, f"/search {word}\n/paper {word[:5000]}\n/whoami\n", "console", "--user", "alice")
    assert f"That line is {len(word) + 8:,} characters long; a command is at most {console.MAX_LINE:,}." in out
    assert f"({len(word) + 8:,} characters)" in out  # the echo
    assert len(out) < 20_000
    assert "title is 5000 characters long" in out  # a line within the limit is read as before
    assert "alice (console:alice)" in out
