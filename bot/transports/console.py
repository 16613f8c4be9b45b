"""The console transport: try every command in a terminal, as any user, with simulated time.

Lines are commands (see console_parse). Replies print as plain text; what the bot would post
to a channel or send as a direct message prints too, marked "[#papers post]" / "[DM to alice]".
Console-only commands:

    /as NAME            act as another user            /admin on|off   server-admin rights
    /tick [WHEN]        move the simulated clock (to the next post time; +2h, +1d, 09:00, ISO time)
    /next /prev /press N   press a button of the last reply
    /whoami, /quit

After every command the background work that would have happened by the simulated time is
done (`App.settle`): due daily posts are sent. The console is user "console:NAME" in server
"console:lab", typing in channel "console:general".
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot.app import App
from bot.chat import limits
from bot.chat.replies import Attachment, Button, Reply
from bot.commands import dispatch, press, suggest
from bot.commands.context import Context
from bot.commands.errors import UsageError, error_reply, refusal
from bot.commands.registry import COMMANDS
from bot.commands.specs import OptionType
from bot.schedule import decide as rules
from bot.schedule.clock import ManualClock
from bot.transports.console_parse import Parsed, parse, positional_targets, quote, resolve, split
from bot.transports.console_render import render
from storage import guilds as guild_repo

GUILD = "console:lab"
CHANNEL = "console:general"
# The latest simulated time: the scheduler and the windows of digests look days and weeks around "now".
_LATEST = dt.datetime(2999, 12, 31, 23, 59, tzinfo=dt.UTC)
CONSOLE_COMMANDS = ("as", "admin", "tick", "next", "prev", "press", "whoami", "quit", "exit")
_NAME = re.compile(r"^[\w.\-]{1,32}$")
_DURATION = re.compile(r"^\+?(\d{1,4})\s*(m|min|h|d)$")
_CLOCK_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
# The longest line read as a command: an option value as long as Discord allows, with room for
# the command and option names. Longer lines are refused before they are split into words, which
# costs seconds a megabyte and would hold the event loop.
MAX_LINE = limits.STRING_OPTION + 1000

CONSOLE_HELP = """\
Console only:
  /as NAME          act as another user (subscriptions are per user)
  /admin on|off     act with or without server-admin rights (for /setup, /ingest, /status)
  /tick [WHEN]      move the simulated clock: to the next daily post by default, or +30m, +2h, +1d,
                    a time of day (09:00, in this server's time zone), or an ISO time
  /next, /prev, /press N   press a button of the last reply
  /whoami, /quit    (Tab completes commands, options and titles; Up recalls history)"""


@dataclass
class Session:
    """One console user's state and the dispatch of each line."""

    app: App
    clock: ManualClock
    write: Callable[[str], None]
    user: str = "you"
    admin: bool = False
    buttons: list[Button] = field(default_factory=list)

    def context(self) -> Context:
        return self.app.context(f"console:{self.user}", guild_id=GUILD, channel_id=CHANNEL, is_admin=self.admin,
                                transport="console", user_name=self.user)

    async def handle(self, line: str) -> bool:
        """Run one line; False when the session should end."""
        if len(line) > MAX_LINE:
            size = len(line.rstrip("\r\n"))
            self.show(refusal(f"That line is {size:,} characters long; a command is at most {MAX_LINE:,}. "
                              "Nothing was run."))
            return True
        text = line.strip()
        if not text or text.startswith("#"):
            return True
        word = text.lstrip("/").split(" ", 1)[0].casefold()
        if text.startswith("/") and word in CONSOLE_COMMANDS:
            if word in ("quit", "exit"):
                return False
            reply = await self._console_command(word, text.lstrip("/")[len(word):].strip())
        else:
            reply = await self._command(text)
        self.show(reply)
        if text.casefold() in ("/help", "/help "):
            self.write(CONSOLE_HELP)
        await self._settle()
        return True

    def show(self, reply: Reply) -> None:
        if reply.buttons:
            self.buttons = list(reply.buttons)
        self.write(render(reply))

    async def _command(self, text: str) -> Reply:
        ctx = self.context()
        try:
            parsed = parse(text)
            options: dict[str, Any] = dict(parsed.options)
            self._attach_files(parsed, options)
        except Exception as exc:  # noqa: BLE001 - a bad line is answered like a bad command
            return error_reply(exc, "console")
        return await dispatch(parsed.name, options, ctx)

    def _attach_files(self, parsed: Parsed, options: dict[str, Any]) -> None:
        """Attachment options name a local file on the console."""
        if parsed.spec is None:
            return
        limit = self.app.settings.ingest.max_download_bytes
        for option in parsed.spec.options:
            path = options.get(option.name)
            if option.type != OptionType.ATTACHMENT or not isinstance(path, str):
                continue
            path = os.path.expanduser(path)
            if not os.path.isfile(path):
                raise UsageError(f"{option.name}: no such file: {path}")
            if os.path.getsize(path) > limit:
                raise UsageError(f"{option.name}: {path} is over the limit of {limit:,} bytes")
            with open(path, "rb") as f:
                options[option.name] = Attachment(os.path.basename(path), f.read())

    async def _console_command(self, word: str, arg: str) -> Reply:
        try:
            if word == "as":
                if not _NAME.match(arg):
                    raise UsageError("/as needs a name of letters, digits, . - or _ (at most 32)")
                self.user = arg
                return Reply(text=f"You are now {arg} (console:{arg}).")
            if word == "admin":
                if arg.casefold() not in ("on", "off"):
                    raise UsageError("/admin on or /admin off")
                self.admin = arg.casefold() == "on"
                return Reply(text=f"Server-admin rights {'on' if self.admin else 'off'} for {self.user}.")
            if word == "whoami":
                role = "a server admin" if self.admin else "not an admin"
                return Reply(text=f"{self.user} (console:{self.user}), {role}, in {GUILD} #{CHANNEL.split(':')[1]}; "
                                  f"simulated time {_utc(self.clock())}")
            if word == "tick":
                return await self._tick(arg)
            return await self._press(word, arg)
        except UsageError as exc:
            return error_reply(exc, word)

    async def _press(self, word: str, arg: str) -> Reply:
        if not self.buttons:
            raise UsageError("No buttons to press: the last reply had none.")
        if word == "press":
            if not arg.isdigit() or not 1 <= int(arg) <= len(self.buttons):
                raise UsageError(f"/press needs a button number from 1 to {len(self.buttons)}")
            button = self.buttons[int(arg) - 1]
        else:
            wanted = ("next", "▶") if word == "next" else ("previous", "◀")
            found = [b for b in self.buttons if any(w in b.label.casefold() for w in wanted)]
            if not found:
                raise UsageError(f"The last reply has no {'Next' if word == 'next' else 'Previous'} button.")
            button = found[0]
        if button.url:
            return Reply(text=f"That button is a link: {button.url}")
        return await press(button.action, self.context())

    async def _tick(self, arg: str) -> Reply:
        now = self.clock()
        try:
            moment = await self._tick_target(arg, now)
        except OverflowError:
            moment = dt.datetime.max.replace(tzinfo=dt.UTC)
        try:
            target = moment.astimezone(dt.UTC)
        except OverflowError:  # at either end of the calendar: refused just below
            earliest = dt.datetime.min.replace(tzinfo=dt.UTC)
            target = _LATEST + dt.timedelta(days=1) if moment.year > now.year else earliest
        if target < now:
            raise UsageError("The simulated clock only moves forward.")
        if target > _LATEST:
            raise UsageError(f"The simulated clock goes up to {_utc(_LATEST)}: the scheduler looks days ahead.")
        self.clock.set(target)
        return Reply(text=f"Simulated time: {_utc(target)}" + await self._local(target))

    async def _tick_target(self, arg: str, now: dt.datetime) -> dt.datetime:
        zone = await self._zone()
        if not arg:
            upcoming = await self._next_post(now)
            return upcoming or now + dt.timedelta(hours=1)
        m = _DURATION.match(arg.casefold())
        if m:
            unit = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days"}[m.group(2)]
            return now + dt.timedelta(**{unit: int(m.group(1))})
        m = _CLOCK_TIME.match(arg)
        if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
            local = now.astimezone(zone)
            at = dt.time(int(m.group(1)), int(m.group(2)))
            day = local.date() if local.time() < at else local.date() + dt.timedelta(days=1)
            return rules.wall_time(day, at, zone)
        try:
            moment = dt.datetime.fromisoformat(arg)
        except ValueError:
            raise UsageError("/tick takes nothing (the next post time), +30m, +2h, +1d, a time like 09:00, "
                             "or an ISO time like 2025-09-10T09:00+02:00") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=zone)

    async def _zone(self) -> ZoneInfo:
        schedule = await guild_repo.get_schedule(self.app.db, GUILD)
        return ZoneInfo(schedule.timezone) if schedule else ZoneInfo("UTC")

    async def _local(self, moment: dt.datetime) -> str:
        zone = await self._zone()
        return "" if zone.key == "UTC" else f" ({moment.astimezone(zone):%Y-%m-%d %H:%M} {zone.key})"

    async def _next_post(self, now: dt.datetime) -> dt.datetime | None:
        times = []
        for schedule in await guild_repo.list_schedules(self.app.db, active_only=True):
            today = rules.local_day(now, ZoneInfo(schedule.timezone))
            times += [t for offset in range(3)
                      if (t := rules.slot_time(schedule, today + dt.timedelta(days=offset))) > now]
        return min(times, default=None)

    async def _settle(self) -> None:
        try:
            report, notifications = await self.app.settle()
        except Exception as exc:  # noqa: BLE001 - the background work's failure is shown, not raised
            self.write(render(error_reply(exc, "tick")))
            return
        for record in report.skipped:
            self.write(f"[daily post for {record.post_date.isoformat()} skipped: {record.reason}]")
        for record in report.failed + report.retrying:
            self.write(f"[daily post for {record.post_date.isoformat()} {record.status}: "
                       f"{record.reason or record.error}]")
        for notification in notifications:
            if notification.status != "sent":
                self.write(f"[notification for {notification.user_id} {notification.status}: "
                           f"{notification.reason or notification.error}]")


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


# -- terminal input ------------------------------------------------------------------------------


def completion_names() -> list[str]:
    return sorted({f"/{c.name}" for c in COMMANDS} | {f"/{c}" for c in CONSOLE_COMMANDS})


@dataclass(frozen=True, slots=True)
class Candidate:
    """One completion: the whole line it makes, and what the menu shows for it (a paper's title
    for the `id:41` or `arxiv:…` it inserts, as Discord shows a choice's name for its value)."""

    line: str
    display: str


async def candidates(session: Session, line: str) -> list[Candidate]:
    """Completions of `line` (the text before the cursor), each as the whole completed line."""
    if len(line) > MAX_LINE:
        return []  # too long to run, so nothing to complete (and splitting it would take seconds)
    if " " not in line:
        return [Candidate(f"{n} ", n) for n in completion_names() if n.startswith(line)]
    head, _, word = line.rpartition(" ")
    path, spec, rest = resolve(split(head.lstrip("/")))
    if spec is None:
        return []
    if spec.is_group:
        return [Candidate(f"{head} {s.name} ", s.name) for s in spec.subcommands
                if s.name.startswith(word.casefold()) and not rest]
    ctx = session.context()
    name = " ".join(path)
    key, colon, partial = word.partition(":")
    if colon and key in {o.name for o in spec.options}:  # name:value
        choices = await suggest(name, key, partial, ctx)
        return [Candidate(f"{head} {key}:{quote(c.value)}", c.name) for c in choices]
    out = [Candidate(f"{head} {o.name}:", f"{o.name}:") for o in spec.options if o.name.startswith(word.casefold())
           and word]
    names = {o.name for o in spec.options}
    if any(w.partition(":")[0].casefold() in names for w in rest if ":" in w):  # positional words come first
        return out
    # The positional option this word fills (the last one takes the rest of the words), as parse reads it.
    targets = positional_targets(spec, set())
    if not targets:
        return out
    slot = min(len(rest), len(targets) - 1)
    target = targets[slot]
    if target.suggest is None:
        return out
    typed = " ".join([*rest[slot:], word])
    before = " ".join(["/" + name, *(quote(w) for w in rest[:slot])])
    choices = await suggest(name, target.name, typed, ctx)
    return out + [Candidate(f"{before} {quote(c.value)}", c.name) for c in choices]


async def complete(session: Session, line: str) -> list[str]:
    """Whole-line completions for `line` (the text before the cursor)."""
    return [c.line for c in await candidates(session, line)]


def prompt_session(session: Session, history: str | None) -> Any:
    """A prompt_toolkit prompt: line editing, history, and Tab completion that lists titles."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import CompleteEvent, Completer, Completion
    from prompt_toolkit.document import Document
    from prompt_toolkit.history import FileHistory, InMemoryHistory
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

    class _Completer(Completer):
        def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
            return iter(())  # only the asynchronous form is used

        async def get_completions_async(self, document: Document,
                                        complete_event: CompleteEvent) -> AsyncGenerator[Completion, None]:
            before = document.text_before_cursor
            try:
                found = await candidates(session, before)
            except Exception:  # noqa: BLE001 - completion must never break the prompt
                return
            for c in found:
                yield Completion(c.line, start_position=-len(before), display=c.display)

    keys = KeyBindings()

    @keys.add("tab")
    def _tab(event: KeyPressEvent) -> None:
        """Tab opens the menu with the first choice already in the line; Tab again takes the next.
        (The choices replace the whole line and share no common part to insert first.)"""
        buffer = event.current_buffer
        if buffer.complete_state:
            buffer.complete_next()
        else:
            buffer.start_completion(select_first=True)

    try:
        stored = FileHistory(history) if history else InMemoryHistory()
    except OSError:
        stored = InMemoryHistory()
    return PromptSession(completer=_Completer(), history=stored, complete_while_typing=False, key_bindings=keys)


def history_path(db_path: str) -> str:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    folder = os.path.join(base, "paperboy")
    try:
        os.makedirs(folder, exist_ok=True)
        return os.path.join(folder, "console_history")
    except OSError:
        return os.path.join(os.path.dirname(os.path.abspath(db_path)), "console_history")


def echo(line: str) -> str:
    """A line read from a script as it is shown back: a line too long to run shows its start."""
    text = line.rstrip()
    if len(text) > MAX_LINE:
        text = f"{text[:80]}… ({len(text):,} characters)"
    return limits.clean_user_text(text)


async def run(session: Session, stdin: TextIO, *, interactive: bool, history: str | None = None) -> int:
    """Read commands until EOF or /quit. Interactive: a prompt_toolkit prompt; else one per line."""
    write = session.write
    if not interactive:
        for line in stdin:
            if line.strip() and not line.lstrip().startswith("#"):
                write(f"> {echo(line)}")
            if not await session.handle(line):
                break
        return 0
    prompt = prompt_session(session, history)
    while True:
        try:
            line = await prompt.prompt_async(f"{session.user}> ")
        except EOFError:
            write("")
            break
        except KeyboardInterrupt:
            write("(type /quit to leave)")
            continue
        if not await session.handle(line):
            break
    return 0
