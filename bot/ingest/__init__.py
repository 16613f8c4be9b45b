"""Ingest: digests from files, URLs and sources into the archive.

- `formats/`: one parser per digest format, turning bytes into `storage.records` batches;
- `load.py`: a load from start to end: parse off the event loop, write each batch in one transaction
  (through `storage.loader`), report what was stored, cut or skipped;
- `worker.py`: the parsing process of a bulk load, a chunk or two ahead of the database writes.

The chat command (`bot/commands/ingest.py`), the CLI (`paperboy ingest`, `bot/cli/archive.py`) and the
sources (`bot/sources/`) all load through `load.ingest`.
"""
