"""`paperboy config`: every setting's value and where it came from (default, file, environment,
command line), secrets masked. The text form is itself a valid config file."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
from typing import Any
from urllib.parse import urlsplit

from bot.cli.common import CliContext, add_json_flag, print_json
from bot.cli.log_setup import STDERR_ONLY, log_path
from bot.config import ConfigError, Origin, Resolved, Secret, discord_token, llm_api_key, origin_of, resolve

# A key naming a secret ("token", "api_key"), not one that merely mentions one ("daily_token_budget").
_SECRET_KEY = re.compile(r"(?:^|_)(?:token|secret|password|api_key)$", re.IGNORECASE)
HIDDEN = "********"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "config", help="every setting, its value and where it came from (secrets masked)",
        description="Print every setting as a config file, each value commented with where it came from: "
                    "default, file PATH, env VARIABLE or command line; then the database, log and token in "
                    "use. Example: PAPERBOY_FETCH_RETRIES=5 paperboy config --json")
    add_json_flag(p)
    p.set_defaults(handler=run_config)


def masked(key: str, value: Any) -> Any:
    """`value` fit to print: secret-looking keys hidden, passwords in URLs replaced."""
    if _SECRET_KEY.search(key) and value:
        return HIDDEN
    if isinstance(value, str) and "@" in value and "://" in value:
        parts = urlsplit(value)
        if parts.password:
            return value.replace(f":{parts.password}@", f":{HIDDEN}@", 1)
    return value


def _token() -> tuple[Secret | None, str | None]:
    try:
        return discord_token(), None
    except ConfigError as exc:
        return None, str(exc)


def _where(origin: Origin) -> dict[str, str]:
    return {"source": origin.kind, **({"where": origin.where} if origin.where else {})}


async def run_config(ctx: CliContext) -> int:
    db_option = getattr(ctx.args, "db", None)
    resolved = resolve(getattr(ctx.args, "config", None),
                       command_line={"database.url": db_option} if db_option else None)
    settings = resolved.settings
    log = STDERR_ONLY if settings.logging.destination == "stderr" else log_path(settings)
    token, token_problem = _token()
    if ctx.args.json:
        values = {section.name: {key: {"value": masked(key, value), **_where(origin_of(resolved, section.name, key))}
                                 for key, value in dataclasses.asdict(getattr(settings, section.name)).items()}
                  for section in dataclasses.fields(settings)}
        secret = ({"set": True, **_where(token.origin)} if token else
                  {"set": False, **({"problem": token_problem} if token_problem else {})})
        llm_key = llm_api_key()
        print_json({"config_file": str(resolved.config_file) if resolved.config_file else None,
                    "searched": resolved.searched, "database": settings.db_shown, "log": log,
                    "settings": values, "secrets": {"discord_token": secret, "llm_api_key": (
                        {"set": True, **_where(llm_key.origin)} if llm_key else {"set": False})},
                    "ignored_environment": resolved.ignored_env})
        return 0
    for line in _header(resolved, log, token, token_problem):
        print(f"# {line}")
    for section in dataclasses.fields(settings):
        print(f"\n[{section.name}]")
        for key, value in dataclasses.asdict(getattr(settings, section.name)).items():
            shown = json.dumps(masked(key, value), ensure_ascii=False)
            print(f"{key} = {shown}  # {origin_of(resolved, section.name, key)}")
    return 0


def _database(resolved: Resolved) -> str:
    """The database in use, and why `path` is not used when `url` is set."""
    settings = resolved.settings
    if not settings.database.url.strip():
        return settings.db_shown
    ignored = (f" (url wins: [database] path = {settings.database.path!r} is not used)"
               if settings.database.path else "")
    return f"{settings.db_shown}, from url ({origin_of(resolved, 'database', 'url')}){ignored}"


def _header(resolved: Resolved, log: str, token: Secret | None, token_problem: str | None) -> list[str]:
    lines = [f"config file: {resolved.config_file}" if resolved.config_file else
             "config file: none found (looked for " + ", ".join(resolved.searched) + ")",
             f"database: {_database(resolved)}", f"log: {log}"]
    if token:
        lines.append(f"Discord token: {token.masked()}, from {token.origin}")
    else:
        lines.append(f"Discord token: {token_problem or 'not set'}")
    llm_key = llm_api_key()
    lines.append(f"LLM API key: {llm_key.masked()}, from {llm_key.origin}" if llm_key else "LLM API key: not set")
    if resolved.ignored_env:
        lines.append("ignored (no such setting): " + ", ".join(resolved.ignored_env))
    return lines
