"""A real, throw-away PostgreSQL server for the tests (and bench/store.py).

Debian's ``postgresql`` package: ``initdb`` on a temporary data folder, ``pg_ctl`` to start it on
127.0.0.1 (a free port) and a Unix socket in the same folder. PostgreSQL refuses to run as root,
so as root the server runs as the ``postgres`` user the package creates. Local connections are
trusted, except the role ``kb_secret``, which must give its password (to test bad credentials).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SECRET_ROLE, SECRET_PASSWORD = "kb_secret", "s3cret-Pa55"


def binaries() -> Path | None:
    """The newest installed ``/usr/lib/postgresql/*/bin`` holding ``initdb``, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major)
    return Path(found[-1]).parent if found else None


def _major(path: str) -> int:
    version = Path(path).parent.parent.name
    return int(version) if version.isdigit() else 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class PgServer:
    bin: Path
    port: int
    folder: Path
    runas: tuple[str, ...]

    def url(self, database: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        command = [str(self.bin / "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"]
        command += ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database]
        done = subprocess.run(
            [*command, "-c", sql], capture_output=True, text=True, check=False, timeout=60
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def create_database(self, name: str) -> str:
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def running_postgres() -> Iterator[PgServer]:
    """Start a server on a fresh data folder; stop it and delete everything afterwards."""
    bin_dir = binaries()
    if bin_dir is None:
        raise FileNotFoundError("no /usr/lib/postgresql/*/bin/initdb: install 'postgresql'")
    folder = Path(tempfile.mkdtemp(prefix="kb-pg-"))
    runas: tuple[str, ...] = ()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        runas = ("runuser", "-u", "postgres", "--")
    data, port = folder / "data", _free_port()
    try:
        _run(runas, bin_dir / "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
             "--locale=C.UTF-8", "--no-sync")  # fmt: skip
        _write_hba(runas, data)
        options = f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off -c max_connections=200"
        _run(runas, bin_dir / "pg_ctl", "-D", data, "-o", options, "-l", folder / "log", "-w",
             "start")  # fmt: skip
        server = PgServer(bin_dir, port, folder, runas)
        server.psql(f"CREATE ROLE {SECRET_ROLE} LOGIN SUPERUSER PASSWORD '{SECRET_PASSWORD}'")
        yield server
    finally:
        if (data / "postmaster.pid").exists():
            _run(runas, bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def _write_hba(runas: tuple[str, ...], data: Path) -> None:
    rules = (
        f"host all {SECRET_ROLE} 127.0.0.1/32 scram-sha-256\n"
        "host all all 127.0.0.1/32 trust\n"
        "local all all trust\n"
    )
    hba = data / "pg_hba.conf"
    if runas:
        _run(runas, "sh", "-c", f"printf '%s' '{rules}' > {hba}")
    else:
        hba.write_text(rules)


def _run(runas: tuple[str, ...], *command: str | Path) -> None:
    done = subprocess.run(
        [*runas, *(str(c) for c in command)], capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {done.stderr.strip() or done.stdout.strip()}")
