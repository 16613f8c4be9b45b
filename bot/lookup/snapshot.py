"""The title index as a snapshot: its `IndexImage` plus the archive position it reflects, saved and
loaded through `storage.lookup` in one transaction.

The position is the highest paper id and title-change sequence number indexed, so a reader always
sees a whole image of one moment, and catching up from it is the usual poll. Anything odd about a
stored image (missing parts, another format, bad JSON) reads as "no snapshot": the caller rebuilds.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from bot.lookup.index import IndexImage
from storage import lookup as stored
from storage.db import Database, iso, now_utc, parse_iso

FORMAT = 1  # bump when the parts change meaning: older images are then ignored


@dataclass(frozen=True, slots=True)
class Snapshot:
    image: IndexImage
    last_change: int  # title_changes.seq the image includes
    saved_at: dt.datetime


async def save_snapshot(db: Database, image: IndexImage, last_change: int) -> int:
    """Replace the stored image; returns the bytes written."""
    meta = {"format": FORMAT, "layout": image.layout, "last_id": image.last_id, "count": image.count,
            "last_change": last_change, "checks": image.checks, "saved_at": iso(now_utc())}
    return await stored.save_snapshot(db, {"meta": json.dumps(meta).encode("utf-8"), **image.parts})


async def load_snapshot(db: Database) -> Snapshot | None:
    """The stored image, or None when there is none or it is not one this code can read.

    Checksums are verified when the index is made from it (`TitleIndex.from_image`)."""
    parts = await stored.load_snapshot(db)
    meta_bytes = parts.pop("meta", None) if parts is not None else None
    if parts is None or not meta_bytes:
        return None
    try:
        meta: dict[str, Any] = json.loads(meta_bytes)
        if meta.get("format") != FORMAT:
            return None
        image = IndexImage(int(meta["last_id"]), int(meta["count"]), parts,
                           {str(k): int(v) for k, v in dict(meta["checks"]).items()}, str(meta["layout"]))
        return Snapshot(image, int(meta["last_change"]), parse_iso(str(meta["saved_at"])))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
