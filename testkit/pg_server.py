"""A throw-away PostgreSQL server on loopback, for the PostgreSQL benches and tests.

Debian's postgresql-15 package puts `initdb` and `pg_ctl` in /usr/lib/postgresql/15/bin. They
refuse to run as root, so under root they run as the `postgres` user (`runuser`), in a folder
that user owns. The server listens on 127.0.0.1 at a free port, trusts local connections, and
runs with fsync off: it holds nothing worth keeping and is removed on `stop()`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin")


class ServerUnavailable(RuntimeError):
    """PostgreSQL's server programs are not installed, or the server did not start."""


def _bin_dir() -> Path:
    env = os.environ.get("PAPERBOY_PG_BIN")
    for candidate in ([env] if env else []) + list(_BIN_DIRS):
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise ServerUnavailable("PostgreSQL's initdb was not found (apt-get install postgresql-15, "
                            "or set PAPERBOY_PG_BIN to the folder holding initdb and pg_ctl)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(slots=True)
class Server:
    """A running server: `url` reaches its `postgres` database as the `postgres` superuser."""

    root: Path
    port: int
    bin_dir: Path
    options: str = ""  # the server's command-line settings, used again by resume()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def halt(self) -> None:
        """Stop the server as an operator restarting it would (fast shutdown: sessions are ended
        with 57P01 admin_shutdown), keeping its data for `resume()`."""
        _run(self.bin_dir / "pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        """Start the halted server again on the same data and port; returns once it accepts."""
        _run(self.bin_dir / "pg_ctl", "-D", self.root / "data", "-o", self.options, "-l", self.root / "server.log",
             "-w", "start")

    def stop(self) -> None:
        _run(self.bin_dir / "pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _run(*argv: object, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*_as_postgres(), *map(str, argv)], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise ServerUnavailable(f"{Path(str(argv[0])).name} failed: {(done.stderr or done.stdout).strip()[-500:]}")
    return done


def start() -> Server:
    """Initialise and start a fresh server; raise ServerUnavailable with the reason if it cannot."""
    bin_dir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="paperboy-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    data = root / "data"
    _run(bin_dir / "initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync",
         "--locale", "C")
    port = _free_port()
    options = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
    try:
        _run(bin_dir / "pg_ctl", "-D", data, "-o", options, "-l", root / "server.log", "-w", "start")
    except ServerUnavailable:
        log = (root / "server.log").read_text(errors="replace")[-500:] if (root / "server.log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise ServerUnavailable(f"PostgreSQL did not start: {log}") from None
    return Server(root=root, port=port, bin_dir=bin_dir, options=options)


@contextlib.contextmanager
def running() -> Iterator[Server]:
    server = start()
    try:
        yield server
    finally:
        server.stop()
