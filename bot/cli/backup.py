"""`paperboy backup DEST` and `paperboy restore SRC`: a checked copy of the live database, and
putting one back while no bot runs (storage.backup has the how and why)."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import asdict

from bot.cli.common import CliContext, add_json_flag, print_json
from storage.backup import CopyInfo, backup, restore


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "backup", help="copy the database safely, even while the bot runs, and check the copy",
        description="Copy the database with SQLite's online backup (a consistent snapshot, even while the bot "
                    "writes; `cp` on a live WAL database is not safe), check the copy with PRAGMA integrity_check, "
                    "then give it its name. Example: paperboy backup /var/backups/paperboy/")
    p.add_argument("destination", metavar="DEST",
                   help="the backup file, or a folder to put paperboy-YYYYMMDDTHHMMSSZ.db in")
    p.add_argument("--overwrite", action="store_true", help="replace DEST when it exists")
    add_json_flag(p)
    p.set_defaults(handler=run_backup)

    p = sub.add_parser(
        "restore", help="replace the database with a backup (refused while the bot runs)",
        description="Check that SRC is an intact Paperboy database, save the current database beside it "
                    "(NAME.before-restore-TIME), and copy SRC in. Refused while a bot or console uses the "
                    "database: stop it first. Example: systemctl stop 'paperboy@*'; paperboy restore backup.db")
    p.add_argument("source", metavar="SRC", help="a file made by paperboy backup")
    add_json_flag(p)
    p.set_defaults(handler=run_restore)


def _describe(info: CopyInfo) -> str:
    return (f"{info.papers:,} papers, {info.digests:,} digests, schema {info.schema_version}, "
            f"{info.size_bytes / 1e6:,.1f} MB")


async def run_backup(ctx: CliContext) -> int:
    args = ctx.args
    ctx.hold_database()  # a restore must not replace the database while it is being copied
    result = await asyncio.to_thread(backup, ctx.settings.db_address, args.destination, overwrite=args.overwrite)
    if args.json:
        print_json({"source": result.source, **asdict(result.copy), "integrity": "ok",
                    "seconds": round(result.seconds, 3)})
    else:
        print(f"Backed up {result.source} to {result.copy.path}: {_describe(result.copy)}; "
              f"integrity check ok ({result.seconds:.1f} s).")
    return 0


async def run_restore(ctx: CliContext) -> int:
    args = ctx.args
    result = await asyncio.to_thread(restore, args.source, ctx.settings.db_address)
    if args.json:
        print_json({"source": result.source, **asdict(result.restored), "previous": result.previous,
                    "seconds": round(result.seconds, 3)})
        return 0
    print(f"Restored {result.source} into {result.restored.path}: {_describe(result.restored)}.")
    if result.previous:
        print(f"The database it replaced is saved as {result.previous}.")
    print("Migrations missing from the backup run when Paperboy next starts.")
    return 0
