"""Saving and loading a title index image (`IndexImage`) in the `title_snapshot` table.

The image is written in one transaction together with the archive position it reflects (the
highest paper id and title-change sequence number indexed), so a reader always sees a whole
image of one moment, and catching up from it is the usual poll. Anything odd about a stored
image (missing parts, another format, bad JSON) reads as "no snapshot": the caller rebuilds.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from storage.db import Database, iso, now_utc, parse_iso
from storage.titles.index import IndexImage

FORMAT = 1  # bump when the parts change meaning: older images are then ignored
CHUNK_BYTES = 16 << 20


@dataclass(frozen=True, slots=True)
class Snapshot:
    image: IndexImage
    last_change: int  # title_changes.seq the image includes
    saved_at: dt.datetime


def _chunks(data: bytes) -> list[bytes]:
    return [data[i:i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)] or [b""]


async def save_snapshot(db: Database, image: IndexImage, last_change: int) -> int:
    """Replace the stored image; returns the bytes written."""
    meta = {"format": FORMAT, "layout": image.layout, "last_id": image.last_id, "count": image.count,
            "last_change": last_change, "checks": image.checks, "saved_at": iso(now_utc())}
    rows: list[tuple[str, int, bytes]] = [("meta", 0, json.dumps(meta).encode("utf-8"))]
    for name, data in image.parts.items():
        rows += [(name, n, chunk) for n, chunk in enumerate(_chunks(data))]
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM title_snapshot")
        await conn.executemany("INSERT INTO title_snapshot(part, chunk, data) VALUES (?, ?, ?)", rows)
    return sum(len(r[2]) for r in rows)


async def load_snapshot(db: Database) -> Snapshot | None:
    """The stored image, or None when there is none or it is not one this code can read.

    Checksums are verified when the index is made from it (`TitleIndex.from_image`)."""
    rows = await db.fetchall("SELECT part, chunk, data FROM title_snapshot ORDER BY part, chunk")
    pieces: dict[str, list[bytes]] = {}
    for row in rows:
        chunks = pieces.setdefault(row["part"], [])
        if int(row["chunk"]) != len(chunks) or not isinstance(row["data"], bytes):
            return None  # a gap or a foreign row: not an image we wrote
        chunks.append(row["data"])
    meta_bytes = pieces.pop("meta", None)
    if not meta_bytes:
        return None
    try:
        meta: dict[str, Any] = json.loads(b"".join(meta_bytes))
        if meta.get("format") != FORMAT:
            return None
        image = IndexImage(int(meta["last_id"]), int(meta["count"]),
                           {name: b"".join(chunks) for name, chunks in pieces.items()},
                           {str(k): int(v) for k, v in dict(meta["checks"]).items()}, str(meta["layout"]))
        return Snapshot(image, int(meta["last_change"]), parse_iso(str(meta["saved_at"])))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


async def clear_snapshot(db: Database) -> None:
    """Forget the stored image (the next start-up builds from the papers)."""
    await db.execute("DELETE FROM title_snapshot")
