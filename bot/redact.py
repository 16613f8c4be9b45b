"""What Paperboy never shows: secrets, and the user info of URLs.

Every text that leaves the process for a person (the log, standard error, `/status`, a command's
error) goes through `redact`: the values registered as secrets (the bot token, however it was
given) become `[redacted]`, an `Authorization: Bot ...` header or a `Bot <token>` pair loses its
token, and `scheme://user:password@host` keeps only `scheme://***@host`. Cheap to import.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
_secrets: set[str] = set()
# Linear: the scheme anchors each attempt, and the user info stops at the first / ? # @ or space.
_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]{0,20}://)[^/?#@\s]{1,256}@")
_AUTH_HEADER = re.compile(r"(?i)\b(authorization['\"]?\s*[:=]\s*['\"]?\s*)(bot|bearer|basic)\s+[^\s'\",}]{1,512}")
_MIN_SECRET = 8  # shorter values would blank out ordinary words


def register_secret(value: str) -> None:
    """Never show `value` again in anything `redact` sees."""
    if len(value) >= _MIN_SECRET:
        _secrets.add(value)


def redact(text: str) -> str:
    """`text` without registered secrets, authorization headers' credentials, or URL user info."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if "@" in text:
        text = _USERINFO.sub(r"\1***@", text)
    if "uthorization" in text or "UTHORIZATION" in text:
        text = _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)} {REDACTED}", text)
    return text


class RedactingFormatter(logging.Formatter):
    """A log formatter whose every line, traceback included, goes through `redact`."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
