"""PostgreSQL servers of the benchmarks' own, on loopback.

A server is initialised in a folder of its own (Debian's PostgreSQL tools, run
as the ``postgres`` system user, trust authentication for the role the
benchmarks run as) on a port of its own, so that a benchmark can measure on
the settings it names (a replica, the memory docs/deploy.md prescribes)
without touching the machine's PostgreSQL.
"""

import contextlib
import getpass
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path(
    os.environ.get("PRM_BENCH_PG_BIN")
    or subprocess.run(
        ["pg_config", "--bindir"], capture_output=True, text=True, check=False
    ).stdout.strip()
    or "/usr/lib/postgresql/15/bin"
)
ROLE = os.environ.get("PGUSER") or getpass.getuser()  # the servers' superuser


def ram_mib():
    """This machine's memory, in MiB."""
    with open("/proc/meminfo") as handle:
        return int(handle.readline().split()[1]) // 1024


def deployed_settings(ram=None):
    """The settings docs/deploy.md prescribes, for `ram` MiB (this machine's
    by default): a quarter of it as shared buffers, three quarters as the
    planner's cache size, 32 MB for each sort or hash, and 4 GB of WAL
    between checkpoints.

    >>> settings = deployed_settings(24 * 1024)
    >>> settings["shared_buffers"], settings["effective_cache_size"]
    ('6144MB', '18432MB')
    >>> settings["work_mem"], settings["max_wal_size"]
    ('32MB', '4GB')
    """
    ram = ram or ram_mib()
    return {
        "shared_buffers": f"{ram // 4}MB",
        "effective_cache_size": f"{ram * 3 // 4}MB",
        "work_mem": "32MB",
        "max_wal_size": "4GB",
    }


class Postgres:
    """A PostgreSQL server of the benchmark's own, run as `postgres`."""

    def __init__(self, root, name, port):
        self.data = root / name
        self.port = port
        self.log = root / f"{name}.log"
        self.sockets = root

    def _as_postgres(self, *cmd):
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", *map(str, cmd)],
            capture_output=True,
            text=True,
            check=True,
        )

    def init(self, settings=None):
        """A new cluster; `settings` ({name: value}) go to its configuration
        (512 MB of shared buffers unless they say otherwise)."""
        self._as_postgres(
            PG_BIN / "initdb", "-D", self.data, "-U", ROLE,
            "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        settings = {"shared_buffers": "512MB", **(settings or {})}
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.sockets}'\n"
                "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n"
                "max_connections = 200\n"
                "log_line_prefix = '%m [%p] %a '\n"
                + "".join(f"{name} = '{value}'\n" for name, value in settings.items())
            )

    def start(self, *options):
        opts = " ".join([f"-p {self.port}", *options])
        self._as_postgres(
            PG_BIN / "pg_ctl",
            "-D",
            self.data,
            "-l",
            self.log,
            "-o",
            opts,
            "-w",
            "start",
        )

    def stop(self):
        if (self.data / "postmaster.pid").exists():
            self._as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-m", "fast", "stop")

    def replica_of(self, primary):
        self._as_postgres(
            PG_BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", primary.port,
            "-U", ROLE, "-D", self.data, "-R",
            "-X", "stream", "-c", "fast",
        )  # fmt: skip

    def psql(self, sql, db="postgres"):
        return subprocess.run(
            ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
             "-p", str(self.port), "-d", db, "-c", sql],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip


def own_root(prefix):
    """A new folder the `postgres` user owns, for servers' data and logs."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    shutil.chown(root, "postgres")
    return root


@contextlib.contextmanager
def serving(server):
    """While inside, psql, psycopg2 and the Odoo processes the benchmark
    starts (their libpq reads PGHOST and PGPORT; scripts/prm_dev.py passes
    them on as --db_host/--db_port) connect to `server`."""
    saved = {var: os.environ.get(var) for var in ("PGHOST", "PGPORT")}
    os.environ.update(PGHOST="127.0.0.1", PGPORT=str(server.port))
    try:
        yield server
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
