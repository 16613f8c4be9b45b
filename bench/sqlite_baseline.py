"""The baseline for bulk loading: the least a Python program can do to make a snapshot searchable.

`python -m bench.sqlite_baseline CORPUS.jsonl OUT.db` reads the snapshot with `json.loads` per
line, inserts (id, title, abstract) into one table with one streaming `executemany` in one
transaction, then builds an external-content FTS5 index over it with the same tokenizer as
Paperboy's (`'rebuild'`). It prints {"papers", "load_seconds", "fts_seconds"} as JSON.

It does less than `paperboy ingest` on purpose (no identity or merging, no whitespace clean-up,
no authors/categories/links, no digests or entries, no unique index): it is the floor that
plain stdlib sqlite3 reaches on this machine, measured in the same run as Paperboy.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path


def _rows(corpus: Path) -> Iterator[tuple[str, str, str]]:
    with open(corpus, "rb") as lines:
        for line in lines:
            record = json.loads(line)
            yield record["id"], record["title"], record["abstract"]


def load(corpus: Path, db: Path) -> dict[str, float | int]:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("CREATE TABLE papers (rowid INTEGER PRIMARY KEY, id TEXT, title TEXT, abstract TEXT)")
    conn.execute("CREATE VIRTUAL TABLE fts USING fts5(title, abstract, content='papers', content_rowid='rowid',"
                 " tokenize='porter unicode61 remove_diacritics 2')")
    start = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO papers (id, title, abstract) VALUES (?, ?, ?)", _rows(corpus))
    conn.execute("COMMIT")
    loaded = time.perf_counter()
    conn.execute("INSERT INTO fts(fts) VALUES ('rebuild')")
    indexed = time.perf_counter()
    papers = conn.execute("SELECT COUNT(*) FROM papers").fetchone()[0]
    conn.close()
    return {"papers": papers, "load_seconds": loaded - start, "fts_seconds": indexed - loaded}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m bench.sqlite_baseline CORPUS.jsonl OUT.db")
    print(json.dumps(load(Path(sys.argv[1]), Path(sys.argv[2]))))
