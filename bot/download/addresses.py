"""Which network addresses the bot may fetch from when it must stay on the public internet
(chat /ingest: guards against server-side request forgery). Cheap to import: no aiohttp."""

from __future__ import annotations

import ipaddress


def is_public_address(address: str) -> bool:
    """Whether `address` (an IP, IPv6 with or without a %scope) is on the public internet: not
    loopback, private, link-local (cloud metadata lives there), shared, reserved, multicast or
    unspecified, whether written plainly or wrapped in IPv6 (::ffff:10.0.0.1, 6to4, Teredo)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is not None and not is_public_address(str(inner)):
            return False
    return ip.is_global and not ip.is_multicast
