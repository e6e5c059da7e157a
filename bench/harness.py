"""Helpers shared by the benchmarks (databases, psql, Odoo scripts)."""

import functools
import importlib.util
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@functools.cache
def dev_tool():
    """scripts/prm_dev.py as a module (template databases, Odoo command line)."""
    spec = importlib.util.spec_from_file_location(
        "prm_dev_tool", REPO / "scripts" / "prm_dev.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def psql(db, sql):
    """Run SQL (one or more statements) on `db`; stop at the first error;
    return the last statement's output, unaligned."""
    return subprocess.run(
        ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def fresh_db(cfg, db, addon):
    """A new database `db`: the cached crm template plus `addon`, no demo."""
    tool = dev_tool()
    tool.copy_db(cfg, tool.template_db(cfg, demo=False), db)
    log = Path("/tmp") / f"{db}-install.log"
    args = ["-d", db, "-i", addon, "--stop-after-init", "--without-demo=all"]
    if tool.run_odoo_logged(cfg, args, log):
        raise RuntimeError(f"installing {addon} failed, see {log}")


def drop_db(cfg, db):
    """Drop the benchmark database, unless PRM_BENCH_KEEP is set."""
    if not os.environ.get("PRM_BENCH_KEEP"):
        dev_tool().drop_db(cfg, db)


def odoo_script(cfg, db, script, env=None):
    """Run a Python `script` with Odoo loaded on `db`; its CompletedProcess."""
    return subprocess.run(
        [
            cfg["python"],
            "-c",
            script,
            "-d",
            db,
            f"--addons-path={dev_tool().addons_path(cfg)}",
            f"--data-dir={cfg['data_dir']}",
            "--log-level=warn",
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
