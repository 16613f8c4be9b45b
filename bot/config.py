"""Settings: typed defaults here, documented in config/paperboy.toml, each with the values it accepts.

One precedence rule, highest first: the command line (`--db`), the environment
(`PAPERBOY_<SECTION>_<KEY>`, e.g. `PAPERBOY_DATABASE_URL`), the TOML file, the defaults below.
The database is `[database] url` when it is set (`--db` sets it), else the SQLite file `path`.
The file is the first of: `--config`, `$PAPERBOY_CONFIG`, `./config/paperboy.toml`,
`$XDG_CONFIG_HOME/paperboy/paperboy.toml` (`~/.config/...`), `/etc/paperboy/paperboy.toml`.
Every value is range-checked as it is read; a bad one is a ConfigError naming the file line or the
variable, the key and what it accepts. `resolve()` also says where each value came from
(`paperboy config`). Secrets (the Discord token) are never part of `Settings`: see `discord_token`;
a database URL's password is accepted from the environment only, and never shown.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import stat
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit

from bot.chat.ratelimit import share_of
from bot.chat.shards import ShardSet, item_problem, parse_ids
from bot.redact import register_secret
from storage.address import address_problem, is_postgres, shown_address, sqlite_path


class ConfigError(Exception):
    """A setting that cannot be used; the message names the file or variable and the key."""


def default_db_path() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "paperboy", "paperboy.db")


# -- what each setting accepts ------------------------------------------------------------------

def _zone(text: str) -> str | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        return "is not an IANA time zone (e.g. Europe/Berlin)"
    return None


def _clock_time(text: str) -> str | None:
    return None if re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", text.strip()) else "is not a time like 06:30"


def _url(*schemes: str) -> Callable[[str], str | None]:
    def check(text: str) -> str | None:
        try:
            parts = urlsplit(text.strip())
            if parts.scheme in schemes and parts.hostname and (parts.port or 0) >= 0:
                return None
        except ValueError:  # an unclosed IPv6 bracket, a bad port
            pass
        return "is not a URL starting with " + " or ".join(f"{scheme}://" for scheme in schemes)
    return check


def _database_address(text: str) -> str | None:
    return address_problem(text)


def host_problem(text: str) -> str | None:
    ok = re.fullmatch(r"[A-Za-z0-9.:-]+|\[[0-9A-Fa-f:.]+\]", text.strip())
    return None if ok else "is not a host name or IP address (e.g. 127.0.0.1, 0.0.0.0, ::1)"


def _shard_item(text: str) -> str | None:
    return item_problem(text)


def _category(text: str) -> str | None:
    ok = re.fullmatch(r"[a-z][a-z-]*(\.[A-Za-z][A-Za-z-]*)?", text)
    return None if ok else "is not an arXiv category like cs.LG"


@dataclass(frozen=True, slots=True)
class Rule:
    """The values one setting accepts: a number range (`above` excludes `low`), a choice, or a
    text form (checked on each item of a list)."""

    low: float | None = None
    high: float | None = None
    above: bool = False
    choices: tuple[str, ...] = ()
    form: Callable[[str], str | None] | None = None
    nonempty: bool = False

    def problem(self, value: Any) -> str | None:
        if isinstance(value, list):
            if self.nonempty and not value:
                return "must list at least one value"
            return next((f"{item!r} {p}" for item in value if (p := self._text(item))), None)
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return self._number(value)
        return None

    def _text(self, text: str) -> str | None:
        if self.choices and text not in self.choices:
            return "must be one of " + ", ".join(f'"{c}"' for c in self.choices)
        return self.form(text) if self.form and (text or self.nonempty) else None

    def _number(self, value: float) -> str | None:
        if isinstance(value, float) and not math.isfinite(value):
            return "must be a finite number"
        too_low = self.low is not None and (value <= self.low if self.above else value < self.low)
        too_high = self.high is not None and value > self.high
        if not (too_low or too_high):
            return None
        kind = "a whole number" if isinstance(value, int) else "a number"
        if self.above:
            return f"must be {kind} above {self.low:g} and at most {self.high:g}"
        return f"must be {kind} from {self.low:g} to {self.high:g}"


def setting(default: Any = None, low: float | None = None, high: float | None = None, *, above: bool = False,
            choices: tuple[str, ...] = (), form: Callable[[str], str | None] | None = None,
            factory: Callable[[], Any] | None = None, nonempty: bool = False) -> Any:
    """A dataclass field carrying its Rule; numbers give both `low` and `high`."""
    meta = {"rule": Rule(low, high, above, choices, form, nonempty)}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def rule_of(section: type, key: str) -> Rule | None:
    found = {f.name: f for f in dataclasses.fields(section)}[key].metadata.get("rule")
    return found if isinstance(found, Rule) else None


DAY_S, WEEK_MIN, TEN_YEARS_D = 86_400, 7 * 1440, 3650
BIG_BYTES = 10**12
ANNOUNCE_TYPES = ("new", "cross", "replace", "replace-cross", "absonly")
LOG_LEVELS = ("debug", "info", "warning", "error")


# -- the settings ------------------------------------------------------------------------------

@dataclass(slots=True)
class DatabaseSettings:
    # The database: a SQLite file path, sqlite:///PATH, or postgresql://USER@HOST:PORT/NAME for a
    # PostgreSQL server shared by several processes. Set, it wins over `path`; empty: `path` is used.
    # No password here: give the whole URL in PAPERBOY_DATABASE_URL, or the password in PGPASSWORD
    # or ~/.pgpass (a URL holding a password in this file is refused).
    url: str = setting("", form=_database_address)
    # Where the SQLite file lives when `url` is empty. Empty: ~/.local/share/paperboy/paperboy.db ($XDG_DATA_HOME).
    # With a PostgreSQL `url`, its folder still holds the log file, the inbox and console history.
    path: str = ""
    # How long a write waits for another process's lock before failing, in milliseconds.
    busy_timeout_ms: int = setting(5000, 0, 3_600_000)


@dataclass(slots=True)
class IngestSettings:
    # arXiv RSS announce types that make a paper part of a "new papers" digest.
    announce_types: list[str] = setting(factory=lambda: ["new", "cross"], choices=ANNOUNCE_TYPES, nonempty=True)
    # Papers per transaction when streaming large files (arXiv snapshot, exports).
    chunk_size: int = setting(5000, 1, 1_000_000)
    # Largest body accepted when ingesting a URL, in bytes.
    max_download_bytes: int = setting(50_000_000, 1, BIG_BYTES)
    # Let chat /ingest fetch loopback and private-network URLs (off: guards against request forgery).
    chat_private_urls: bool = False


@dataclass(slots=True)
class FetchSettings:
    # Poll the sources below on a schedule while the bot runs (`paperboy fetch` works either way).
    enabled: bool = True
    # The IANA time zone of the poll window and of "today's" digest.
    timezone: str = setting("UTC", form=_zone, nonempty=True)
    # The daily window in which sources are polled, HH:MM in `timezone` (both ends included).
    window_start: str = setting("00:00", form=_clock_time, nonempty=True)
    # The end of the poll window, HH:MM in `timezone`.
    window_end: str = setting("23:59", form=_clock_time, nonempty=True)
    # How often the poller wakes to poll sources whose day's digest has not appeared yet, in minutes.
    interval_minutes: float = setting(15.0, 0, 1440, above=True)
    # Once the day's digest is loaded, how often it is checked again for changes, in minutes (0 = not again).
    recheck_minutes: float = setting(60.0, 0, 1440)
    # A contact (URL or e-mail) added to the User-Agent, as arXiv asks of automated clients.
    contact: str = ""
    # The longest one request may take, body included, in seconds.
    timeout_seconds: float = setting(30.0, 0, 3600, above=True)
    # Further tries of a request that failed temporarily (timeout, dropped connection, 429, 5xx).
    retries: int = setting(3, 0, 20)
    # The first wait before a retry, in seconds; it doubles each time (with jitter), up to retry_max_seconds.
    retry_base_seconds: float = setting(2.0, 0, 3600, above=True)
    # The longest wait between retries, in seconds.
    retry_max_seconds: float = setting(60.0, 0, DAY_S, above=True)
    # A Retry-After longer than this fails the request (the source backs off) instead of waiting, in seconds.
    retry_after_max_seconds: float = setting(300.0, 0, DAY_S)
    # Largest response body accepted (after decompression), in bytes.
    max_response_bytes: int = setting(20_000_000, 1, BIG_BYTES)
    # The shortest interval between two requests to the same host, in seconds.
    request_interval_seconds: float = setting(1.0, 0, 3600)
    # A source that failed waits this long before the poller tries it again, in minutes; doubles per failure.
    failure_backoff_minutes: float = setting(15.0, 0, WEEK_MIN, above=True)
    # The longest back-off of a failing source, in minutes.
    failure_backoff_max_minutes: float = setting(720.0, 0, WEEK_MIN, above=True)
    # Fetch Hugging Face Daily Papers (source "hf-daily").
    hf_enabled: bool = True
    # Hugging Face base URL.
    hf_base_url: str = setting("https://huggingface.co", form=_url("http", "https"), nonempty=True)
    # Papers per page of /api/daily_papers (1 to 100).
    hf_page_size: int = setting(100, 1, 100)
    # Pages fetched at most for one day.
    hf_max_pages: int = setting(20, 1, 1000)
    # Papers kept at most for one day: paging stops there (a page listing more than hf_page_size is refused).
    hf_max_papers: int = setting(2000, 1, 100_000)
    # Fetch the arXiv RSS feeds of arxiv_rss_categories (sources "arxiv-rss:CATEGORY"); announce
    # types kept are [ingest] announce_types.
    arxiv_rss_enabled: bool = False
    # arXiv RSS base URL.
    arxiv_rss_base_url: str = setting("https://rss.arxiv.org", form=_url("http", "https"), nonempty=True)
    # Categories, one digest each per announcement day.
    arxiv_rss_categories: list[str] = setting(factory=lambda: ["cs.LG", "cs.CL", "cs.CV"], form=_category)
    # Run arxiv_api_query for each day (source "arxiv-api").
    arxiv_api_enabled: bool = False
    # arXiv API base URL.
    arxiv_api_base_url: str = setting("https://export.arxiv.org", form=_url("http", "https"), nonempty=True)
    # The saved query, in arXiv search_query syntax, e.g. 'au:"Dao_T" OR au:"Gu_A"'.
    arxiv_api_query: str = ""
    # Results per request (arXiv asks for at most 2000; smaller pages are kinder).
    arxiv_api_page_size: int = setting(100, 1, 2000)
    # Results fetched at most for one day.
    arxiv_api_max_results: int = setting(1000, 1, 100_000)
    # The digest dated D lists the query's papers submitted in this many days before D.
    arxiv_api_days_back: int = setting(1, 1, 366)
    # The shortest interval between two requests to the arXiv API host, in seconds (arXiv asks for 3).
    arxiv_api_interval_seconds: float = setting(3.0, 0, 3600)
    # Load digest files dropped into inbox_path, then move them to processed/ or failed/.
    inbox_enabled: bool = False
    # The inbox folder. Empty: "inbox" beside the database file.
    inbox_path: str = ""
    # A dropped file is loaded once it has not changed for this many seconds (it may still be copying).
    inbox_settle_seconds: float = setting(5.0, 0, 3600)


@dataclass(slots=True)
class DiscordSettings:
    # REST base URL (point it at a rate-limiting proxy, or a test fake).
    api_base: str = setting("https://discord.com/api/v10", form=_url("http", "https"), nonempty=True)
    # Gateway URL the client connects to.
    gateway_url: str = setting("wss://gateway.discord.gg/", form=_url("ws", "wss"), nonempty=True)
    # Register commands to this server only (fast updates while developing); 0 = global.
    dev_guild_id: int = setting(0, 0, 2**63 - 1)
    # The shards this process connects and posts for: ids or ranges, e.g. "0-3" or [0, 1, 2, 3]
    # (`paperboy run --shards`). Empty or "all": every shard, in this one process.
    shard_ids: list[str] = setting(factory=list, form=_shard_item)
    # Shards over all processes (`--shard-count`); the same in every process. 0: Discord's
    # recommendation, with one process running them all (shard_ids then must be empty).
    shard_count: int = setting(0, 0, 65_536)
    # Seconds between two IDENTIFYs of this process's shards (Discord allows one per 5 s).
    identify_interval_seconds: float = setting(5.0, 0, 60)


@dataclass(slots=True)
class ScheduleSettings:
    # How long after a server's post time a late digest is still posted, in hours (never past the
    # end of the server's local day). After it, the day gets the no-digest note or nothing.
    late_cutoff_hours: float = setting(12.0, 0, 24)
    # After downtime, posts missed by at most this many hours are made up; older ones are skipped.
    grace_hours: float = setting(6.0, 0, 168)
    # A post interrupted mid-send by a crash is re-sent with the same idempotency key when the
    # crash was at most this many seconds ago (the transport dedupes); older ones are marked unknown.
    resend_window_seconds: int = setting(120, 0, DAY_S)
    # Tries for a send that fails temporarily, waiting retry_base_seconds, doubling, up to retry_max_seconds.
    retry_attempts: int = setting(5, 1, 100)
    # The first wait before a retry, in seconds.
    retry_base_seconds: int = setting(60, 1, DAY_S)
    # The longest wait between retries, in seconds.
    retry_max_seconds: int = setting(1800, 1, 7 * DAY_S)
    # Global request rate shared by every sender (Discord allows 50/s): at most burst + rate x t in t seconds.
    rate_per_second: float = setting(45.0, 0, 10_000, above=True)
    # Requests that may go out at once before the rate applies.
    burst: int = setting(5, 1, 10_000)
    # Posts sent at the same time at most (the rate limit still applies).
    concurrency: int = setting(25, 1, 1000)
    # How often the scheduler re-checks everything (late digests, cut-offs, changed schedules), in seconds.
    sweep_seconds: int = setting(60, 1, 3600)


@dataclass(slots=True)
class SubscriptionSettings:
    # Topics one user may follow.
    max_topics: int = setting(25, 1, 1000)
    # Papers listed in one notification before "and N more" (a user may choose their own, 1 to 25).
    default_cap: int = setting(10, 1, 25)
    # The subscribe preview counts matches in digests of this many days up to the newest one.
    preview_days: int = setting(30, 1, TEN_YEARS_D)
    # Digests dated more than this many days before today notify nobody (a late backfill is not news).
    max_digest_age_days: int = setting(3, 0, TEN_YEARS_D)
    # Tries for a notification that fails temporarily, waiting retry_base_seconds, doubling, up to retry_max_seconds.
    retry_attempts: int = setting(5, 1, 100)
    # The first wait before a retry, in seconds.
    retry_base_seconds: int = setting(60, 1, DAY_S)
    # The longest wait between retries, in seconds.
    retry_max_seconds: int = setting(1800, 1, 7 * DAY_S)
    # A notification interrupted by a crash is re-sent with its idempotency key when the crash was
    # at most this many seconds ago; older ones are marked unknown (never sent twice).
    resend_window_seconds: int = setting(120, 0, DAY_S)
    # Notifications sent at the same time at most (the shared rate limit still applies).
    concurrency: int = setting(10, 1, 1000)


@dataclass(slots=True)
class LoggingSettings:
    # The least severe messages recorded: "debug", "info", "warning" or "error" (-v makes it "debug").
    level: str = setting("info", choices=LOG_LEVELS)
    # "file": the rotating log file below, with warnings also on standard error. "stderr": everything
    # on standard error only, tracebacks included (systemd's journal, containers).
    destination: str = setting("file", choices=("file", "stderr"))
    # The log file. Empty: paperboy.log beside the database.
    file: str = ""
    # The log file is rotated when it reaches this size, in bytes.
    max_bytes: int = setting(5_000_000, 10_000, BIG_BYTES)
    # Rotated log files kept (paperboy.log.1, .2, ...).
    backup_count: int = setting(3, 0, 100)


@dataclass(slots=True)
class WebSettings:
    # Serve the read-only web archive inside `paperboy run` (`paperboy web` serves it on its own).
    enabled: bool = False
    # The address it listens on: 127.0.0.1 is this machine only (put a reverse proxy in front), 0.0.0.0 every interface.
    host: str = setting("127.0.0.1", form=host_problem, nonempty=True)
    # The TCP port it listens on.
    port: int = setting(8080, 1, 65535)
    # Where people reach it, e.g. https://papers.example.org. When set, Discord paper cards and daily
    # posts link to its pages, and feeds use it for their links. Empty: no links from Discord.
    public_url: str = setting("", form=_url("http", "https"))


@dataclass(slots=True)
class LlmSettings:
    # Write a "today in papers" paragraph and one-line TL;DRs with a model (off: the extractive summary only).
    enabled: bool = False
    # The OpenAI-compatible API's base URL, up to /v1 (Ollama, vLLM, llama.cpp's server, OpenAI).
    base_url: str = setting("http://127.0.0.1:11434/v1", form=_url("http", "https"), nonempty=True)
    # The model's name as the server knows it.
    model: str = setting("llama3.2", nonempty=True, form=lambda text: None if text.strip() else "must not be blank")
    # The longest one answer may take, retries included, in seconds; past it the post keeps the extractive text.
    timeout_seconds: float = setting(30.0, 0, 3600, above=True)
    # Requests to the server at the same time at most.
    max_concurrency: int = setting(4, 1, 64)
    # Tokens (prompt and answer) spent at most per UTC day; past it nothing more is asked until the next day.
    daily_token_budget: int = setting(200_000, 1, 10**10)
    # Ask for the answer as a stream of server-sent events (stream: true) rather than in one body.
    stream: bool = False


@dataclass(slots=True)
class ProcessSettings:
    # How often each `paperboy run` tells the others it is alive (its row in `paperboy status`) and
    # renews the leases it holds (fetching, the upkeep); the others try to take a free lease as often.
    heartbeat_seconds: float = setting(10.0, 0, 3600, above=True)
    # How long a lease lasts unrenewed: a process killed while holding one has its work taken over by
    # another within this plus one heartbeat, and is shown as gone once its heartbeat is this old.
    lease_seconds: float = setting(30.0, 0, DAY_S, above=True)
    # A process not heard of for this long is dropped from `paperboy status`.
    forget_after_seconds: float = setting(86_400.0, 0, 30 * DAY_S, above=True)


@dataclass(slots=True)
class Settings:
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    subscriptions: SubscriptionSettings = field(default_factory=SubscriptionSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    web: WebSettings = field(default_factory=WebSettings)
    llm: LlmSettings = field(default_factory=LlmSettings)
    processes: ProcessSettings = field(default_factory=ProcessSettings)

    @property
    def db_address(self) -> str:
        """The database to open: `[database] url` when set, else the SQLite file `db_path`."""
        chosen = self.database.url.strip() or self.database.path.strip()
        if is_postgres(chosen):  # a `path` that is a URL is the address: it has no file
            return chosen
        return self.database.url.strip() or self.db_path

    @property
    def db_path(self) -> str:
        """The SQLite file of `db_address`. For PostgreSQL there is no file, but its folder still
        holds what is kept beside the database (the log file, the inbox, console history): the
        folder of `[database] path` when that names a file (as the systemd unit sets it), else the
        default file's. Never a path made of the URL (a `path` that is one is the address only)."""
        url = self.database.url.strip()
        path = self.database.path.strip()
        if (url and is_postgres(url)) or (not url and is_postgres(path)):
            return os.path.expanduser(path) if path and not is_postgres(path) else default_db_path()
        if url:
            return os.path.expanduser(sqlite_path(url))
        return os.path.expanduser(path) if path else default_db_path()

    @property
    def shards(self) -> ShardSet:
        """The Discord shards this process runs (`[discord] shard_ids` of `shard_count`)."""
        return ShardSet.parse(self.discord.shard_ids, self.discord.shard_count)

    @property
    def db_shown(self) -> str:
        """`db_address` fit to show: a PostgreSQL URL without its password."""
        return shown_address(self.db_address)


# Pairs that must be in order: (section, smaller key, larger key).
ORDERED = [("fetch", "retry_base_seconds", "retry_max_seconds"),
           ("fetch", "failure_backoff_minutes", "failure_backoff_max_minutes"),
           ("schedule", "retry_base_seconds", "retry_max_seconds"),
           ("subscriptions", "retry_base_seconds", "retry_max_seconds"),
           ("processes", "heartbeat_seconds", "lease_seconds"),
           ("processes", "lease_seconds", "forget_after_seconds")]

# Older, shorter names kept working: the same setting at the same (environment) precedence.
ENV_ALIASES = {"PAPERBOY_DB": "PAPERBOY_DATABASE_PATH", "PAPERBOY_LOG_FILE": "PAPERBOY_LOGGING_FILE"}
CONFIG_VARIABLE = "PAPERBOY_CONFIG"
# The command-line options that set a setting ("section.key"), named in errors and `paperboy config`.
OPTION_FLAGS = {"database.url": "--db", "discord.shard_ids": "--shards", "discord.shard_count": "--shard-count"}
SYSTEM_CONFIG = Path("/etc/paperboy/paperboy.toml")


# -- where values come from -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Origin:
    """Where a value came from: kind "default", "file" (where = path), "env" (where = variable),
    "command line" (where = the option)."""

    kind: str
    where: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.where}".strip()


DEFAULT = Origin("default")


@dataclass(slots=True)
class Resolved:
    settings: Settings
    origins: dict[str, Origin]          # "section.key" -> where its value came from
    config_file: Path | None            # the file read, if any
    searched: list[str]                 # where a file was looked for, in order
    ignored_env: list[str]              # PAPERBOY_* variables that name no setting


def env_name(section: str, key: str) -> str:
    return f"PAPERBOY_{section}_{key}".upper()


def config_candidates(env: Mapping[str, str]) -> list[Path]:
    """The files looked for when neither --config nor PAPERBOY_CONFIG names one, in order."""
    found = [Path("config/paperboy.toml")]
    home = env.get("XDG_CONFIG_HOME") or (os.path.join(env["HOME"], ".config") if env.get("HOME") else "")
    if home:
        found.append(Path(home) / "paperboy" / "paperboy.toml")
    return [*found, SYSTEM_CONFIG]


def _find_file(path: str | Path | None, env: Mapping[str, str]) -> tuple[Path | None, list[str]]:
    named = ("--config", Path(path)) if path else (
        (CONFIG_VARIABLE, Path(env[CONFIG_VARIABLE])) if env.get(CONFIG_VARIABLE) else None)
    if named:
        how, candidate = named
        if not candidate.exists():
            raise ConfigError(f"{candidate}: config file not found (given by {how})")
        if not candidate.is_file():
            raise ConfigError(f"{candidate}: not a regular file (given by {how})")
        return candidate, [f"{how} {candidate}"]
    candidates = config_candidates(env)
    return next((c for c in candidates if c.is_file()), None), [str(c) for c in candidates]


def _line_of(text: str, section: str, key: str) -> int | None:
    current = ""
    for number, line in enumerate(text.splitlines(), 1):
        header = re.match(r"\s*\[\s*([\w-]+)\s*\]", line)
        if header:
            current = header.group(1)
        elif current == section and re.match(rf"\s*{re.escape(key)}\s*=", line):
            return number
    return None


def _coerce(value: Any, kind: Any) -> Any:
    """`value` as `kind`, or a ValueError."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
            return value.strip().lower() in {"1", "true", "yes", "on"}
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
    elif kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
    elif kind is str:
        if isinstance(value, str):
            return value
    elif getattr(kind, "__origin__", None) is list:
        if isinstance(value, list):
            return [str(v) for v in value]
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
    kind_name = {"int": "a whole number", "float": "a number", "bool": "true or false", "str": "text"}
    raise ValueError(f"expected {kind_name.get(getattr(kind, '__name__', ''), 'a list')}")


def url_password(address: str) -> str | None:
    """The password in a database URL, if it holds one."""
    if "://" not in address or "@" not in address:
        return None
    try:
        return urlsplit(address.strip()).password
    except ValueError:
        return None


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


class _Builder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.origins: dict[str, Origin] = {}
        self.hints = {f.name: get_type_hints(type(getattr(settings, f.name))) for f in dataclasses.fields(settings)}

    def put(self, section: str, key: str, raw: Any, origin: Origin, where: str) -> None:
        """Set one value after checking its type and range; `where` names it in an error."""
        target = getattr(self.settings, section)
        # A database URL is shown without its password, in errors too.
        is_url = (section, key) == ("database", "url")

        def shown(value: Any) -> str:
            return _show(shown_address(value) if is_url and isinstance(value, str) else value)

        try:
            value = _coerce(raw, self.hints[section][key])
        except ValueError as exc:
            raise ConfigError(f"{where}: [{section}] {key} = {shown(raw)}: {exc}") from None
        rule = rule_of(type(target), key)
        problem = rule.problem(value) if rule else None
        if problem:
            raise ConfigError(f"{where}: [{section}] {key} = {shown(value)}: {problem}")
        if is_url and url_password(value):
            if origin.kind in ("file", "command line"):
                place = ("a config file is no place for secrets" if origin.kind == "file" else
                         "a command line is seen by every user of the machine (ps)")
                raise ConfigError(f"{where}: [database] url = {shown(value)}: holds a password, and {place}; give "
                                  "the whole URL in PAPERBOY_DATABASE_URL, or leave the password out and put it "
                                  "in PGPASSWORD or ~/.pgpass")
            register_secret(url_password(value) or "")  # from here on no log line or message shows it
        setattr(target, key, value)
        self.origins[f"{section}.{key}"] = origin

    def apply_file(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        for section, values in data.items():
            if section not in self.hints:
                raise ConfigError(f"{path}: unknown section [{section}]")
            if not isinstance(values, Mapping):
                raise ConfigError(f"{path}: [{section}] must be a table")
            for key, value in values.items():
                if key not in self.hints[section]:
                    raise ConfigError(f"{path}: unknown key '{key}' in [{section}]")
                line = _line_of(text, section, key)
                self.put(section, key, value, Origin("file", str(path)), f"{path}" + (f" line {line}" if line else ""))

    def apply_env(self, env: Mapping[str, str]) -> list[str]:
        """Apply PAPERBOY_<SECTION>_<KEY> (and aliases); returns PAPERBOY_* names that match nothing."""
        known = {CONFIG_VARIABLE, LLM_KEY_VARIABLE, *ENV_ALIASES}
        for old, canonical in ENV_ALIASES.items():
            if old in env and canonical in env and env[old] != env[canonical]:
                raise ConfigError(f"environment: {old} and {canonical} name the same setting with different "
                                  f"values; set only {canonical}")
        for section, hints in self.hints.items():
            for key in hints:
                var = env_name(section, key)
                known.add(var)
                alias = next((a for a, c in ENV_ALIASES.items() if c == var and a in env), None)
                name = var if var in env else alias
                if name is not None:
                    self.put(section, key, env[name], Origin("env", name), f"environment variable {name}")
        return sorted(v for v in env if v.startswith("PAPERBOY_") and v not in known)

    def check_order(self) -> None:
        for section, small, large in ORDERED:
            target = getattr(self.settings, section)
            low, high = getattr(target, small), getattr(target, large)
            if low > high:
                o_small = self.origins.get(f"{section}.{small}", DEFAULT)
                o_large = self.origins.get(f"{section}.{large}", DEFAULT)
                raise ConfigError(f"[{section}] {small} = {low:g} ({o_small}) is more than "
                                  f"{large} = {high:g} ({o_large}); it must not be")

    def _named(self, dotted: str) -> str:
        """Where a value came from, naming the option when it was the command line."""
        origin = self.origins.get(dotted, DEFAULT)
        return f"command line {OPTION_FLAGS[dotted]}" if origin.kind == "command line" else str(origin)

    def check_shards(self) -> None:
        """`[discord] shard_ids` against `shard_count`: each id below it, the count given with ids."""
        discord = self.settings.discord
        shown = ",".join(discord.shard_ids)
        o_ids, o_count = self._named("discord.shard_ids"), self._named("discord.shard_count")
        try:
            ids = parse_ids(discord.shard_ids)
        except ValueError as exc:
            raise ConfigError(f"[discord] shard_ids = {shown!r} ({o_ids}): {exc}") from None
        if ids is None:
            return
        count = discord.shard_count
        if not count:
            raise ConfigError(f"[discord] shard_ids = {shown!r} ({o_ids}) needs shard_count, the number of "
                              "shards over all processes (e.g. --shard-count 8)")
        if max(ids) >= count:
            raise ConfigError(f"[discord] shard_ids = {shown!r} ({o_ids}) lists shard {max(ids)}, but "
                              f"[discord] shard_count = {count} ({o_count}): shards are numbered 0 to {count - 1}")
        schedule = self.settings.schedule
        try:
            share_of(schedule.rate_per_second, schedule.burst, len(ids) / count)
        except ValueError as exc:
            raise ConfigError(f"[discord] shard_ids = {shown!r} ({o_ids}) of shard_count = {count} ({o_count}) with "
                              f"[schedule] rate_per_second and burst: {exc}") from None


def resolve(path: str | Path | None = None, env: Mapping[str, str] | None = None,
            command_line: Mapping[str, Any] | None = None) -> Resolved:
    """Every setting with where it came from. `command_line` maps "section.key" to a value given
    as an option (e.g. {"database.url": args.db})."""
    env = os.environ if env is None else env
    builder = _Builder(Settings())
    found, searched = _find_file(path, env)
    if found is not None:
        builder.apply_file(found)
    ignored = builder.apply_env(env)
    for dotted, value in (command_line or {}).items():
        section, key = dotted.split(".", 1)
        flag = OPTION_FLAGS.get(dotted, dotted)
        builder.put(section, key, value, Origin("command line"), f"command line ({flag})")
    builder.check_order()
    builder.check_shards()
    return Resolved(builder.settings, builder.origins, found, searched, ignored)


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None,
                  command_line: Mapping[str, Any] | None = None) -> Settings:
    return resolve(path, env, command_line).settings


def origin_of(resolved: Resolved, section: str, key: str) -> Origin:
    return resolved.origins.get(f"{section}.{key}", DEFAULT)


# -- secrets ------------------------------------------------------------------------------------

TOKEN_VARIABLE = "DISCORD_TOKEN"
# The model server's API key: from this variable only (never a setting, never in the file).
LLM_KEY_VARIABLE = "PAPERBOY_LLM_API_KEY"
TOKEN_FILE_VARIABLE = "DISCORD_TOKEN_FILE"
TOKEN_CREDENTIAL = "discord_token"


@dataclass(frozen=True, slots=True)
class Secret:
    value: str = field(repr=False)
    origin: Origin

    def __post_init__(self) -> None:
        register_secret(self.value)  # from here on no log line or message shows it

    def masked(self) -> str:
        return f"(hidden, {len(self.value)} characters)"


def _read_secret(path: Path, named_by: str) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigError(f"{named_by}: {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{named_by}: {path}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    if not text:
        raise ConfigError(f"{named_by}: {path} is empty")
    return text


def discord_token(env: Mapping[str, str] | None = None) -> Secret | None:
    """The bot token from, in order: $DISCORD_TOKEN, the file named by $DISCORD_TOKEN_FILE (not
    both), the systemd credential `discord_token` ($CREDENTIALS_DIRECTORY, LoadCredential=).
    None when none is given; a ConfigError when one is given but unusable."""
    env = os.environ if env is None else env
    direct, file_name = env.get(TOKEN_VARIABLE, "").strip(), env.get(TOKEN_FILE_VARIABLE, "").strip()
    if direct and file_name:
        raise ConfigError(f"both {TOKEN_VARIABLE} and {TOKEN_FILE_VARIABLE} are set; set only one")
    if direct:
        return Secret(direct, Origin("env", TOKEN_VARIABLE))
    if file_name:
        return Secret(_read_secret(Path(file_name), TOKEN_FILE_VARIABLE), Origin("file", file_name))
    credentials = env.get("CREDENTIALS_DIRECTORY", "")
    if credentials and (Path(credentials) / TOKEN_CREDENTIAL).exists():
        where = Path(credentials) / TOKEN_CREDENTIAL
        return Secret(_read_secret(where, "systemd credential " + TOKEN_CREDENTIAL), Origin("credential", str(where)))
    return None


def llm_api_key(env: Mapping[str, str] | None = None) -> Secret | None:
    """The model server's API key from $PAPERBOY_LLM_API_KEY, or None (local servers need none).
    Registered as a secret: no log line, error or status shows it."""
    env = os.environ if env is None else env
    value = env.get(LLM_KEY_VARIABLE, "").strip()
    return Secret(value, Origin("env", LLM_KEY_VARIABLE)) if value else None


def readable_by_others(path: str) -> bool:
    """True when a secret's file can be read by users other than its owner (and its group)."""
    try:
        return bool(os.stat(path).st_mode & stat.S_IROTH)
    except OSError:
        return False
