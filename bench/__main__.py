"""`python -m bench <name|all> [--sizes 100000,1000000] [--json]`: run benchmarks, print tables.

A benchmark is a module in bench/ with
    NAME: str                                        what `python -m bench NAME` calls it
    DESCRIPTION: str                                 one line for --help
    def add_arguments(parser: ArgumentParser) -> None  its own options (defaults used by `all`)
    def run(args: Namespace) -> list[Row]            measure; `args.sizes`, `args.seed` always set
To add one, append its module to BENCHES below.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from bench import (
    cpu,
    digest,
    discord_latency,
    fuzzy,
    ingest,
    llm,
    lookup_backends,
    migrate_db,
    pg_drivers,
    posting,
    relevance,
    resilience,
    search,
    sharded_posting,
    similar,
    startup,
    subscriptions,
    summary,
    takeover,
    top,
    web,
)
from bench.common import BenchError, Row, format_table, parse_sizes, rows_json
from bench.corpus import DEFAULT_SEED

BENCHES: list[ModuleType] = [
    ingest,
    search,
    relevance,
    fuzzy,
    posting,
    sharded_posting,
    summary,
    digest,
    subscriptions,
    discord_latency,
    cpu,
    resilience,
    startup,
    pg_drivers,
    llm,
    lookup_backends,
    migrate_db,
    top,
    web,
    takeover,
    similar,
]


def _sizes(text: str) -> list[int]:
    try:
        return parse_sizes(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", type=_sizes, default=None, metavar="N,N",
                        help="corpus sizes in papers, e.g. 100000,1M (default: each bench's own)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="corpus seed (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of tables")


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Paperboy benchmarks.")
    sub = parser.add_subparsers(dest="bench", metavar="BENCH", required=True)
    parsers = {}
    for module in BENCHES:
        p = sub.add_parser(module.NAME, help=module.DESCRIPTION, description=module.DESCRIPTION)
        _common(p)
        module.add_arguments(p)
        parsers[module.NAME] = p
    _common(sub.add_parser("all", help="every benchmark with its default options"))
    return parser, parsers


def main(argv: Sequence[str] | None = None) -> int:
    parser, parsers = build_parser()
    args = parser.parse_args(argv)
    chosen = BENCHES if args.bench == "all" else [m for m in BENCHES if args.bench == m.NAME]
    all_rows: list[Row] = []
    for module in chosen:
        bench_args = args
        if args.bench == "all":
            # Each bench runs with its own defaults, overridden by the common options given.
            bench_args = parsers[module.NAME].parse_args([])
            bench_args.seed, bench_args.json = args.seed, args.json
            if args.sizes is not None:
                bench_args.sizes = args.sizes
        try:
            rows = module.run(bench_args)
        except BenchError as exc:
            print(f"bench {module.NAME}: {exc}", file=sys.stderr)
            return 1
        all_rows.extend(rows)
        if not args.json:
            print(f"\n== {module.NAME}: {module.DESCRIPTION}")
            print(format_table(rows), flush=True)
    if args.json:
        print(rows_json(all_rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
