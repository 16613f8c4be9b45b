"""What the loopback Discord puts on the wire: its paths, and responses shaped as Discord shapes them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from . import limits

API_PREFIX = "/api/v10"
GATEWAY_PATH = "/gateway-ws/"


def json_response(status: int, body: Any = None, headers: Mapping[str, str] | None = None) -> web.Response:
    """A response exactly as Discord sends it: bytes with ``Content-Type: application/json``.

    (``web.json_response`` appends ``; charset=utf-8`` and discord.py then treats the body as text.)
    """
    hdrs = dict(headers or {})
    if status == 204 or body is None:
        return web.Response(status=204 if body is None else status, headers=hdrs)
    hdrs["Content-Type"] = "application/json"
    return web.Response(status=status, body=json.dumps(body).encode(), headers=hdrs)


def error_response(status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"message": message, "code": code}
    if errors:
        body["errors"] = errors
    return json_response(status, body)


def form_error(errors: list[limits.FieldError]) -> web.Response:
    return json_response(400, limits.invalid_form_body(errors))
