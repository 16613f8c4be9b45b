"""Settings: typed defaults here, documented in config/paperboy.toml, overridden by environment.

Precedence (lowest first): the defaults below, the TOML file (`--config`, `PAPERBOY_CONFIG`, or
`config/paperboy.toml` under the working directory when it exists), then environment variables
named `PAPERBOY_<SECTION>_<KEY>` (e.g. `PAPERBOY_DATABASE_PATH`, `PAPERBOY_DISCORD_API_BASE`).
Secrets (the Discord token) come from the environment only and are never part of `Settings`.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints


class ConfigError(Exception):
    """A setting that cannot be used; the message names the file or variable and the key."""


def default_db_path() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "paperboy", "paperboy.db")


@dataclass(slots=True)
class DatabaseSettings:
    # Where the SQLite file lives. Empty: $PAPERBOY_DB, else ~/.local/share/paperboy/paperboy.db.
    path: str = ""
    # How long a write waits for another process's lock before failing, in milliseconds.
    busy_timeout_ms: int = 5000


@dataclass(slots=True)
class IngestSettings:
    # arXiv RSS announce types that make a paper part of a "new papers" digest.
    announce_types: list[str] = field(default_factory=lambda: ["new", "cross"])
    # Papers per transaction when streaming large files (arXiv snapshot, exports).
    chunk_size: int = 5000
    # Largest body accepted when ingesting a URL, in bytes.
    max_download_bytes: int = 50_000_000
    # Let chat /ingest fetch loopback and private-network URLs (off: guards against request forgery).
    chat_private_urls: bool = False


@dataclass(slots=True)
class FetchSettings:
    # Poll the sources below on a schedule while the bot runs (`paperboy fetch` works either way).
    enabled: bool = True
    # The IANA time zone of the poll window and of "today's" digest.
    timezone: str = "UTC"
    # The daily window in which sources are polled, HH:MM in `timezone` (both ends included).
    window_start: str = "00:00"
    # The end of the poll window, HH:MM in `timezone`.
    window_end: str = "23:59"
    # How often the poller wakes to poll sources whose day's digest has not appeared yet, in minutes.
    interval_minutes: float = 15.0
    # Once the day's digest is loaded, how often it is checked again for changes, in minutes (0 = not again).
    recheck_minutes: float = 60.0
    # A contact (URL or e-mail) added to the User-Agent, as arXiv asks of automated clients.
    contact: str = ""
    # The longest one request may take, body included, in seconds.
    timeout_seconds: float = 30.0
    # Further tries of a request that failed temporarily (timeout, dropped connection, 429, 5xx).
    retries: int = 3
    # The first wait before a retry, in seconds; it doubles each time (with jitter), up to retry_max_seconds.
    retry_base_seconds: float = 2.0
    # The longest wait between retries, in seconds.
    retry_max_seconds: float = 60.0
    # A Retry-After longer than this fails the request (the source backs off) instead of waiting, in seconds.
    retry_after_max_seconds: float = 300.0
    # Largest response body accepted (after decompression), in bytes.
    max_response_bytes: int = 20_000_000
    # The shortest interval between two requests to the same host, in seconds.
    request_interval_seconds: float = 1.0
    # A source that failed waits this long before the poller tries it again, in minutes; doubles per failure.
    failure_backoff_minutes: float = 15.0
    # The longest back-off of a failing source, in minutes.
    failure_backoff_max_minutes: float = 720.0
    # Fetch Hugging Face Daily Papers (source "hf-daily").
    hf_enabled: bool = True
    # Hugging Face base URL.
    hf_base_url: str = "https://huggingface.co"
    # Papers per page of /api/daily_papers (1 to 100).
    hf_page_size: int = 100
    # Pages fetched at most for one day.
    hf_max_pages: int = 20
    # Fetch the arXiv RSS feeds of arxiv_rss_categories (sources "arxiv-rss:CATEGORY"); announce
    # types kept are [ingest] announce_types.
    arxiv_rss_enabled: bool = False
    # arXiv RSS base URL.
    arxiv_rss_base_url: str = "https://rss.arxiv.org"
    # Categories, one digest each per announcement day.
    arxiv_rss_categories: list[str] = field(default_factory=lambda: ["cs.LG", "cs.CL", "cs.CV"])
    # Run arxiv_api_query for each day (source "arxiv-api").
    arxiv_api_enabled: bool = False
    # arXiv API base URL.
    arxiv_api_base_url: str = "https://export.arxiv.org"
    # The saved query, in arXiv search_query syntax, e.g. 'au:"Dao_T" OR au:"Gu_A"'.
    arxiv_api_query: str = ""
    # Results per request (arXiv asks for at most 2000; smaller pages are kinder).
    arxiv_api_page_size: int = 100
    # Results fetched at most for one day.
    arxiv_api_max_results: int = 1000
    # The digest dated D lists the query's papers submitted in this many days before D.
    arxiv_api_days_back: int = 1
    # The shortest interval between two requests to the arXiv API host, in seconds (arXiv asks for 3).
    arxiv_api_interval_seconds: float = 3.0
    # Load digest files dropped into inbox_path, then move them to processed/ or failed/.
    inbox_enabled: bool = False
    # The inbox folder. Empty: "inbox" beside the database file.
    inbox_path: str = ""
    # A dropped file is loaded once it has not changed for this many seconds (it may still be copying).
    inbox_settle_seconds: float = 5.0


@dataclass(slots=True)
class DiscordSettings:
    # REST base URL (point it at a rate-limiting proxy, or a test fake).
    api_base: str = "https://discord.com/api/v10"
    # Gateway URL the client connects to.
    gateway_url: str = "wss://gateway.discord.gg/"
    # Register commands to this server only (fast updates while developing); 0 = global.
    dev_guild_id: int = 0


@dataclass(slots=True)
class ScheduleSettings:
    # How long after a server's post time a late digest is still posted, in hours (never past the
    # end of the server's local day). After it, the day gets the no-digest note or nothing.
    late_cutoff_hours: float = 12.0
    # After downtime, posts missed by at most this many hours are made up; older ones are skipped.
    grace_hours: float = 6.0
    # A post interrupted mid-send by a crash is re-sent with the same idempotency key when the
    # crash was at most this many seconds ago (the transport dedupes); older ones are marked unknown.
    resend_window_seconds: int = 120
    # Tries for a send that fails temporarily, waiting retry_base_seconds, doubling, up to retry_max_seconds.
    retry_attempts: int = 5
    # The first wait before a retry, in seconds.
    retry_base_seconds: int = 60
    # The longest wait between retries, in seconds.
    retry_max_seconds: int = 1800
    # Global request rate shared by every sender (Discord allows 50/s): at most burst + rate x t in t seconds.
    rate_per_second: float = 45.0
    # Requests that may go out at once before the rate applies.
    burst: int = 5
    # Posts sent at the same time at most (the rate limit still applies).
    concurrency: int = 25
    # How often the scheduler re-checks everything (late digests, cut-offs, changed schedules), in seconds.
    sweep_seconds: int = 60


@dataclass(slots=True)
class SubscriptionSettings:
    # Topics one user may follow.
    max_topics: int = 25
    # Papers listed in one notification before "and N more" (a user may choose their own).
    default_cap: int = 10
    # The subscribe preview counts matches in digests of this many days up to the newest one.
    preview_days: int = 30
    # Digests dated more than this many days before today notify nobody (a late backfill is not news).
    max_digest_age_days: int = 3
    # Tries for a notification that fails temporarily, waiting retry_base_seconds, doubling, up to retry_max_seconds.
    retry_attempts: int = 5
    # The first wait before a retry, in seconds.
    retry_base_seconds: int = 60
    # The longest wait between retries, in seconds.
    retry_max_seconds: int = 1800
    # A notification interrupted by a crash is re-sent with its idempotency key when the crash was
    # at most this many seconds ago; older ones are marked unknown (never sent twice).
    resend_window_seconds: int = 120
    # Notifications sent at the same time at most (the shared rate limit still applies).
    concurrency: int = 10


@dataclass(slots=True)
class Settings:
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    subscriptions: SubscriptionSettings = field(default_factory=SubscriptionSettings)

    @property
    def db_path(self) -> str:
        return self.database.path or os.environ.get("PAPERBOY_DB") or default_db_path()


def _coerce(value: Any, kind: Any, where: str) -> Any:
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
    raise ConfigError(f"{where}: expected {getattr(kind, '__name__', str(kind))}, got {value!r}")


def _apply(settings: Settings, data: Mapping[str, Any], origin: str) -> None:
    sections = {f.name: f for f in dataclasses.fields(settings)}
    for section_name, values in data.items():
        if section_name not in sections:
            raise ConfigError(f"{origin}: unknown section [{section_name}]")
        if not isinstance(values, Mapping):
            raise ConfigError(f"{origin}: [{section_name}] must be a table")
        section = getattr(settings, section_name)
        hints = get_type_hints(type(section))
        for key, value in values.items():
            if key not in hints:
                raise ConfigError(f"{origin}: unknown key '{key}' in [{section_name}]")
            setattr(section, key, _coerce(value, hints[key], f"{origin}: [{section_name}] {key}"))


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    settings = Settings()
    chosen = path or env.get("PAPERBOY_CONFIG")
    candidate = Path(chosen) if chosen else Path("config/paperboy.toml")
    if chosen and not candidate.is_file():
        raise ConfigError(f"{candidate}: config file not found")
    if candidate.is_file():
        try:
            data = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{candidate}: {exc}") from exc
        _apply(settings, data, str(candidate))
    for section_field in dataclasses.fields(settings):
        section = getattr(settings, section_field.name)
        hints = get_type_hints(type(section))
        for key in hints:
            var = f"PAPERBOY_{section_field.name}_{key}".upper()
            if var in env:
                setattr(section, key, _coerce(env[var], hints[key], f"environment {var}"))
    return settings
