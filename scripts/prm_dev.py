#!/usr/bin/env python3
"""Developer tool for PRM for Odoo: set up, run, test and benchmark.

Standard library only, so the machine's own ``python3`` can run it before any
virtualenv exists.  Everything it installs goes into a virtualenv *outside* the
repository; where that virtualenv and the Odoo 18 source are is recorded in a
per-user file (``~/.config/prm-odoo/env.json``) so that later runs (and CI on a
fresh clone on the same machine) find them again.  No path of any machine is
ever written into the repository.

Commands (the wrappers in ``scripts/`` call them):

    setup   find Odoo 18, build/refresh the virtualenv, check PostgreSQL and
            create (or update) the demo database
    run     start Odoo on http://localhost:8069 with the demo database
    test    lint + pure-Python tests + Odoo tests on a throw-away database,
            ending with one line ``N passed, N failed``
    bench   run the benchmarks in ``bench/`` and write ``docs/benchmarks.md``
    env     print the recorded environment (JSON)
"""

import argparse
import ast
import getpass
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ADDONS = ("prm_tracking", "prm_scoring", "prm_funnel")
# bridges: auto-installed next to the Odoo apps they read from
BRIDGES = (
    "prm_tracking_mass_mailing",
    "prm_tracking_website",
    "prm_scoring_mass_mailing",
    "prm_funnel_account",
)
# the test database also holds the Odoo apps the bridges need
TEST_BASE_MODULES = ("crm", "mass_mailing", "website_crm")
ODOO_SERIE = (18, 0)
SUPPORTED_PY = ((3, 10), (3, 11), (3, 12))
OFFICIAL_REPO = "https://github.com/odoo/odoo.git"
ENV_VERSION = 1  # bump to force a rebuild of every recorded environment
TEMPLATE_VERSION = 1  # bump to rebuild the cached crm template databases

NOT_FOUND_MESSAGE = """\
ERROR: Odoo 18.0 was not found, so PRM for Odoo cannot be set up or tested.

Tried, in this order:
{tried}
Provide Odoo 18.0 (Community) in one of these ways, then run the command again:
  * ODOO_SRC=/path/to/odoo-18.0 ./scripts/setup
        a source tree of the odoo/odoo repository, branch 18.0
        (the folder that holds odoo-bin, odoo/ and addons/);
  * ./scripts/setup --odoo-src /path/to/odoo-18.0   (same, as an option);
  * run the command from a virtualenv whose Python can `import odoo` (18.0);
  * or give this machine network access to clone odoo/odoo (branch 18.0).
"""


class SetupError(Exception):
    """A problem the user must fix; its text says what and how."""


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------


def say(msg=""):
    """Print a progress line immediately."""
    print(msg, flush=True)


def config_dir():
    """Per-user configuration folder of the tool (outside the repository)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(
        os.path.expanduser("~"), ".config"
    )
    return Path(base) / "prm-odoo"


def state_dir():
    """Per-user data folder: virtualenvs, Odoo data dir, clones."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return Path(base) / "prm-odoo"


def config_file():
    return config_dir() / "env.json"


def load_config():
    path = config_file()
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def save_config(cfg):
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def run(cmd, check=True, **kw):
    """Run a command, raising SetupError with its output when it fails."""
    proc = subprocess.run(cmd, text=True, **kw)
    if check and proc.returncode:
        raise SetupError(
            "command failed (exit {}): {}".format(
                proc.returncode, " ".join(map(str, cmd))
            )
        )
    return proc


def capture(cmd, timeout=None, env=None):
    """Run a command and return (returncode, combined output)."""
    try:
        proc = subprocess.run(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            env=env,
        )
    except FileNotFoundError:
        return 127, f"{cmd[0]}: not found"
    except subprocess.TimeoutExpired:
        return 124, f"timed out after {timeout}s"
    return proc.returncode, proc.stdout


def odoo_serie_of_source(src):
    """Return (major, minor) of an Odoo source tree without importing it."""
    release = Path(src) / "odoo" / "release.py"
    if not release.is_file():
        return None
    match = re.search(
        r"^version_info\s*=\s*\((\d+),\s*(\d+)", release.read_text(), re.MULTILINE
    )
    return (int(match.group(1)), int(match.group(2))) if match else None


def py_version(python):
    code, out = capture(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        timeout=30,
    )
    if code:
        return None
    major, minor = out.strip().splitlines()[-1].split(".")
    return int(major), int(minor)


def find_base_python():
    """A Python that Odoo 18 supports, to build the virtualenv from."""
    candidates = [sys.executable] + [
        shutil.which("python%d.%d" % v) for v in ((3, 11), (3, 12), (3, 10))
    ]
    for cand in candidates:
        if cand and py_version(cand) in SUPPORTED_PY:
            return cand
    raise SetupError(
        "No Python 3.10, 3.11 or 3.12 found (Odoo 18 supports those). Install "
        "one (e.g. `apt-get install python3.11 python3.11-venv`) and retry."
    )


def importable_odoo(python):
    """If `python` imports an Odoo 18 package, return its source root."""
    code, out = capture(
        [
            python,
            "-c",
            "import os, odoo.release as r; "
            "print(r.version_info[0], r.version_info[1]); "
            "print(os.path.dirname(os.path.dirname(os.path.abspath(r.__file__))))",
        ],
        timeout=60,
    )
    if code:
        return None
    lines = out.strip().splitlines()[-2:]
    if len(lines) != 2 or tuple(map(int, lines[0].split())) != ODOO_SERIE:
        return None
    return lines[1]


def in_virtualenv(python):
    code, out = capture(
        [python, "-c", "import sys; print(sys.prefix != sys.base_prefix)"],
        timeout=30,
    )
    return not code and out.strip().endswith("True")


def python_prefix(python):
    """sys.prefix of an interpreter (the virtualenv folder for a venv python)."""
    code, out = capture([python, "-c", "import sys; print(sys.prefix)"], timeout=30)
    if code:
        raise SetupError(f"Cannot run {python}: {out.strip()}")
    return out.strip().splitlines()[-1]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------
# finding Odoo 18
# --------------------------------------------------------------------------


def clone_odoo(tried):
    """Shallow-clone odoo/odoo 18.0 outside the project, if the network allows."""
    if os.environ.get("PRM_OFFLINE"):
        tried.append("  - clone of odoo/odoo 18.0: skipped (PRM_OFFLINE is set)")
        return None
    if not shutil.which("git"):
        tried.append("  - clone of odoo/odoo 18.0: git is not installed")
        return None
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    code, out = capture(
        ["git", "ls-remote", "--heads", OFFICIAL_REPO, "18.0"], timeout=15, env=env
    )
    if code or "refs/heads/18.0" not in out:
        reason = out.strip().splitlines()[-1] if out.strip() else "no answer"
        tried.append(f"  - clone of odoo/odoo 18.0: network unavailable ({reason})")
        return None
    dest = state_dir() / "odoo-18.0"
    if odoo_serie_of_source(dest) == ODOO_SERIE:
        return str(dest)
    say(f"Cloning odoo/odoo branch 18.0 (shallow) into {dest} ...")
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    code, out = capture(
        ["git", "clone", "--depth", "1", "--branch", "18.0", OFFICIAL_REPO, str(dest)],
        timeout=3600,
        env=env,
    )
    if code:
        tried.append(f"  - clone of odoo/odoo 18.0: failed ({out.strip()[-200:]})")
        return None
    return str(dest)


def locate_odoo(odoo_src_option=None):
    """Find Odoo 18 as the README documents. Returns a dict describing it."""
    tried = []
    # 1. an odoo 18.0 package importable by the Python in use
    src = importable_odoo(sys.executable)
    if src:
        return {"kind": "importable", "odoo_src": src, "python": sys.executable}
    tried.append(f"  - `import odoo` with {sys.executable}: not an importable Odoo 18")
    # 2. ODOO_SRC / --odoo-src
    named = odoo_src_option or os.environ.get("ODOO_SRC")
    if named:
        named = os.path.abspath(os.path.expanduser(named))
        serie = odoo_serie_of_source(named)
        if serie != ODOO_SERIE:
            raise SetupError(
                "ODOO_SRC/--odoo-src points to {}, which is not an Odoo 18.0 source "
                "tree (found version {}; expected odoo/release.py with 18.0).".format(
                    named, ".".join(map(str, serie)) if serie else "none"
                )
            )
        return {"kind": "source", "odoo_src": named}
    tried.append("  - ODOO_SRC / --odoo-src: not set")
    # 3. the environment recorded by an earlier setup
    cfg = load_config()
    if cfg.get("odoo_src") and odoo_serie_of_source(cfg["odoo_src"]) == ODOO_SERIE:
        return {"kind": "recorded", "odoo_src": cfg["odoo_src"]}
    tried.append(
        "  - recorded environment ({}): {}".format(
            config_file(), "stale" if cfg else "none"
        )
    )
    # 4. a shallow clone of the official repository
    cloned = clone_odoo(tried)
    if cloned:
        return {"kind": "clone", "odoo_src": cloned}
    raise SetupError(NOT_FOUND_MESSAGE.format(tried="\n".join(tried)))


# --------------------------------------------------------------------------
# the virtualenv
# --------------------------------------------------------------------------


def manifest(addon):
    return ast.literal_eval((REPO / addon / "__manifest__.py").read_text())


def project_requirements():
    """The project's own requirements: dev tools + addons' external deps."""
    reqs = []
    dev = REPO / "requirements-dev.txt"
    for line in dev.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            reqs.append(line)
    for addon in sorted(p.parent.name for p in REPO.glob("*/__manifest__.py")):
        ext = manifest(addon).get("external_dependencies", {})
        reqs.extend(ext.get("python", []))
    return sorted(set(reqs))


def odoo_requirements(odoo_src):
    """Odoo's own requirements, with the known fixes for Python 3.11 builds."""
    out = []
    req = Path(odoo_src) / "requirements.txt"
    if not req.is_file():
        return out
    for line in req.read_text().splitlines():
        stripped = line.strip()
        if stripped.lower().startswith("python-ldap"):
            # only auth_ldap needs it, and it needs libldap/libsasl headers
            continue
        if stripped.startswith("cbor2==5.4.2"):
            # 5.4.2's setup.py imports pkg_resources: no build with new setuptools
            line = line.replace("cbor2==5.4.2", "cbor2==5.4.6")
        out.append(line)
    return out


def venv_python(venv):
    return str(Path(venv) / "bin" / "python")


def ensure_environment(odoo_src_option=None, quiet=False):
    """Find Odoo, create/refresh the virtualenv, record it. Returns the config."""
    found = locate_odoo(odoo_src_option)
    cfg = load_config()
    odoo_src = found["odoo_src"]
    if found["kind"] == "importable" and in_virtualenv(found["python"]):
        # the user's own virtualenv already runs Odoo 18: use it as is
        # sys.prefix, not the resolved interpreter: a venv's python is a symlink
        # to the base interpreter, whose prefix is the machine's own Python
        venv = python_prefix(found["python"])
        system_site = False
    else:
        base = find_base_python()
        version = "%d.%d" % py_version(base)
        venv = str(state_dir() / ("venv-odoo18-py" + version))
        system_site = found["kind"] == "importable"
    python = venv_python(venv)
    odoo_reqs = [] if found["kind"] == "importable" else odoo_requirements(odoo_src)
    own_reqs = project_requirements()
    digest = hashlib.sha256(
        json.dumps([ENV_VERSION, odoo_src, odoo_reqs, own_reqs]).encode()
    ).hexdigest()
    if (
        cfg.get("venv") == venv
        and cfg.get("req_digest") == digest
        and Path(python).exists()
    ):
        if not quiet:
            say(f"Environment up to date: {venv} (Odoo 18 at {odoo_src})")
        return cfg
    if not Path(python).exists():
        say(f"Creating virtualenv {venv} ...")
        cmd = [find_base_python(), "-m", "venv", venv]
        if system_site:
            cmd.append("--system-site-packages")
        run(cmd)
    if not in_virtualenv(python):
        raise SetupError(
            f"Refusing to install packages into {python}: it is not a virtualenv "
            "(the machine's own Python is never modified)."
        )
    pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    with tempfile.TemporaryDirectory() as tmp:
        constraints = Path(tmp) / "constraints.txt"
        constraints.write_text("setuptools<70\n")
        env = dict(os.environ, PIP_CONSTRAINT=str(constraints))
        if odoo_reqs:
            say("Installing Odoo 18's requirements into the virtualenv ...")
            req_file = Path(tmp) / "odoo-requirements.txt"
            req_file.write_text("\n".join(odoo_reqs) + "\n")
            run(pip + ["wheel", "setuptools<70"], env=env)
            run(pip + ["-r", str(req_file)], env=env)
        say("Installing the project's requirements ...")
        run(pip + own_reqs, env=env)
    if found["kind"] != "importable":
        # make the Odoo source importable in the virtualenv (like `pip install -e`)
        code, site = capture(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        )
        Path(site.strip(), "prm_odoo_src.pth").write_text(odoo_src + "\n")
    if importable_odoo(python) is None:
        raise SetupError(f"Odoo is still not importable from {python}.")
    cfg.update(
        {
            "venv": venv,
            "python": python,
            "odoo_src": odoo_src,
            "odoo_kind": found["kind"],
            "req_digest": digest,
            "data_dir": str(state_dir() / "data"),
        }
    )
    save_config(cfg)
    say(f"Environment recorded in {config_file()}")
    return cfg


# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------


def pg_user():
    return os.environ.get("PGUSER") or getpass.getuser()


def pg_ok():
    code, out = capture(
        [
            "psql",
            "-X",
            "-d",
            "postgres",
            "-Atc",
            "select rolsuper or rolcreatedb from pg_roles where rolname = current_user",
        ],
        timeout=20,
    )
    return code, out.strip()


def start_local_postgres():
    """Start the local cluster(s) of a Debian PostgreSQL install."""
    if not shutil.which("pg_ctlcluster"):
        return
    for version in (
        sorted(os.listdir("/etc/postgresql"))
        if os.path.isdir("/etc/postgresql")
        else []
    ):
        capture(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            timeout=60,
        )


def ensure_postgres():
    """Make sure PostgreSQL is reachable with a role Odoo accepts."""
    user = pg_user()
    if user == "postgres":
        raise SetupError(
            "Odoo refuses the `postgres` database role. Run as another user, or "
            "set PGUSER to a role with CREATEDB rights."
        )
    is_root = os.geteuid() == 0
    if not shutil.which("psql"):
        if is_root and shutil.which("apt-get"):
            say("PostgreSQL is not installed: installing it with apt-get ...")
            run(["apt-get", "update", "-q"])
            run(["apt-get", "install", "-y", "-q", "postgresql"])
        else:
            raise SetupError(
                "PostgreSQL is missing: install a PostgreSQL server and client "
                "(Debian/Ubuntu: `sudo apt-get install postgresql`), start it, and "
                f"create a role for your user: `sudo -u postgres createuser -s {user}`."
            )
    code, out = pg_ok()
    if code and (
        "could not connect" in out or "No such file" in out or "refused" in out
    ):
        if is_root:
            say("PostgreSQL is not running: starting the local cluster ...")
            start_local_postgres()
            code, out = pg_ok()
    if code and "does not exist" in out and "role" in out:
        if is_root and not os.environ.get("PGHOST"):
            say(f"Creating the PostgreSQL role {user!r} ...")
            run(["su", "postgres", "-c", f"createuser -s {user}"])
            code, out = pg_ok()
        else:
            raise SetupError(
                f"PostgreSQL has no role {user!r}. Create it: "
                f"`sudo -u postgres createuser --createdb {user}`."
            )
    if code:
        raise SetupError(f"PostgreSQL is not reachable: {out.strip()}")
    if out != "t":
        raise SetupError(
            f"PostgreSQL role {user!r} may not create databases. Grant it: "
            f"`sudo -u postgres psql -c 'ALTER ROLE {user} CREATEDB'`."
        )


def db_exists(name):
    code, out = capture(
        [
            "psql",
            "-X",
            "-d",
            "postgres",
            "-Atc",
            f"select 1 from pg_database where datname = '{name}'",
        ],
        timeout=30,
    )
    return not code and out.strip() == "1"


# what the demo database must show (SQL returning one boolean, and why)
DEMO_CHECKS = (
    ("SELECT count(*) >= 2000 FROM crm_lead", "at least 2,000 prospects"),
    (
        "SELECT count(DISTINCT source_id) >= 5 FROM crm_lead",
        "several sources of prospects",
    ),
    (
        "SELECT count(*) FILTER (WHERE probability = 100) >= 100 "
        "AND count(*) FILTER (WHERE NOT active) >= 100 FROM crm_lead",
        "wins and losses",
    ),
    ("SELECT count(*) >= 10000 FROM prm_event", "a year of engagement events"),
    (
        "SELECT count(*) >= 1 FROM prm_propensity_model "
        "WHERE active AND state = 'trained'",
        "a trained conversion model",
    ),
    (
        "SELECT count(*) >= 1000 FROM crm_lead "
        "WHERE active AND prm_conversion_probability IS NOT NULL",
        "leads with a conversion probability",
    ),
    ("SELECT count(*) >= 1000 FROM prm_stage_history", "a stage history"),
    (
        "SELECT count(DISTINCT month) >= 6 FROM prm_velocity_snapshot WHERE won > 0",
        "pipeline velocity figures",
    ),
    (
        "SELECT count(*) >= 100 FROM crm_lead WHERE prm_first_site_id IS NOT NULL",
        "first touches (site of the first event)",
    ),
    ("SELECT count(*) >= 12 FROM prm_acquisition_cost", "acquisition costs"),
)


def demo_shortfalls(name):
    """What the demo database `name` fails to show (empty: all of it)."""
    missing = []
    for sql, what in DEMO_CHECKS:
        code, out = capture(["psql", "-X", "-d", name, "-Atc", sql], timeout=60)
        if code or out.strip() != "t":
            missing.append(what)
    return missing


def drop_db(cfg, name):
    capture(["dropdb", "--if-exists", name], timeout=120)
    shutil.rmtree(Path(cfg["data_dir"]) / "filestore" / name, ignore_errors=True)


def copy_db(cfg, template, name):
    drop_db(cfg, name)
    run(["createdb", "-T", template, name])
    src = Path(cfg["data_dir"]) / "filestore" / template
    if src.is_dir():
        shutil.copytree(src, Path(cfg["data_dir"]) / "filestore" / name)


# --------------------------------------------------------------------------
# running Odoo
# --------------------------------------------------------------------------


def addons_path(cfg):
    src = Path(cfg["odoo_src"])
    paths = [src / "addons", src / "odoo" / "addons", REPO]
    return ",".join(str(p) for p in paths if p.is_dir())


def odoo_cmd(cfg, *args):
    cmd = [
        cfg["python"],
        "-m",
        "odoo",
        f"--addons-path={addons_path(cfg)}",
        "--data-dir={}".format(cfg["data_dir"]),
    ]
    for var, opt in (
        ("PGHOST", "db_host"),
        ("PGPORT", "db_port"),
        ("PGUSER", "db_user"),
    ):
        if os.environ.get(var):
            cmd.append(f"--{opt}={os.environ[var]}")
    if os.environ.get("PGPASSWORD"):
        cmd.append("--db_password={}".format(os.environ["PGPASSWORD"]))
    return cmd + list(args)


def run_odoo_logged(cfg, args, log_path):
    """Run Odoo with its output in a log file; return its exit code."""
    with open(log_path, "w") as log:
        proc = subprocess.run(
            odoo_cmd(cfg, *args), stdout=log, stderr=subprocess.STDOUT, cwd=REPO
        )
    return proc.returncode


def tail(path, lines=60):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def template_db(cfg, demo, modules=("crm",)):
    """A cached database with `modules` installed (with or without demo data)."""
    key = hashlib.sha256(
        json.dumps(
            [TEMPLATE_VERSION, cfg["odoo_src"], cfg["req_digest"], demo, modules]
        ).encode()
    ).hexdigest()[:10]
    name = "prm_tmpl_{}_{}_{}".format(modules[-1], "demo" if demo else "nodemo", key)
    if db_exists(name):
        return name
    say(
        "Building the cached template database {} ({}{}) ...".format(
            name, ",".join(modules), " with demo data" if demo else ""
        )
    )
    building = name + "_building"
    drop_db(cfg, building)
    args = [
        "-d",
        building,
        "-i",
        ",".join(modules),
        "--stop-after-init",
        "--log-level=warn",
        "--http-port=%d" % free_port(),
    ]
    if not demo:
        args.append("--without-demo=all")
    log_path = Path(tempfile.gettempdir()) / (f"{building}.log")
    if run_odoo_logged(cfg, args, log_path):
        drop_db(cfg, building)
        raise SetupError(
            f"Installing {','.join(modules)} failed; log tail:\n{tail(log_path)}"
        )
    run(
        [
            "psql",
            "-X",
            "-q",
            "-d",
            "postgres",
            "-c",
            f'ALTER DATABASE "{building}" RENAME TO "{name}"',
        ]
    )
    fs = Path(cfg["data_dir"]) / "filestore"
    if (fs / building).is_dir():
        shutil.rmtree(fs / name, ignore_errors=True)
        (fs / building).rename(fs / name)
    return name


# --------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------


def ensure_debian_package(binaries, package, purpose):
    """A tool the tests need, installed from Debian/Ubuntu packages as root
    when none of ``binaries`` is on the PATH."""
    if any(shutil.which(n) for n in binaries):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say(f"Installing {package} ({purpose}) with apt-get ...")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        if run(
            ["apt-get", "install", "-y", "-q", package], check=False, env=env
        ).returncode:
            run(["apt-get", "update", "-q"], env=env)
            run(["apt-get", "install", "-y", "-q", package], env=env)
    else:
        say(
            f"WARNING: {binaries[0]} not found; {purpose} will be skipped "
            f"(install the `{package}` package)."
        )


def ensure_browser():
    """Chromium for Odoo's browser tests, wkhtmltopdf for its PDF reports."""
    ensure_debian_package(
        ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"),
        "chromium",
        "the browser tests",
    )
    ensure_debian_package(("wkhtmltopdf",), "wkhtmltopdf", "the PDF report tests")


def ensure_demo_db(cfg, name, update=True):
    """The demo database `name`: created with crm, the addons and demo data
    when missing; when it exists, its addons are updated if `update`."""
    addons = ",".join(ADDONS)
    log_path = Path(tempfile.gettempdir()) / (f"prm-setup-{name}.log")
    if db_exists(name):
        if not update:
            return
        say(f"Updating the addons in database {name} ...")
        rc = run_odoo_logged(
            cfg,
            [
                "-d",
                name,
                "-u",
                addons,
                "--stop-after-init",
                "--http-port=%d" % free_port(),
            ],
            log_path,
        )
    else:
        say(f"Creating database {name} with crm, {addons} and demo data ...")
        copy_db(cfg, template_db(cfg, demo=True), name)
        rc = run_odoo_logged(
            cfg,
            [
                "-d",
                name,
                "-i",
                addons,
                "--stop-after-init",
                "--http-port=%d" % free_port(),
            ],
            log_path,
        )
        if rc:
            drop_db(cfg, name)
    if rc:
        raise SetupError(f"Installing the addons failed; log tail:\n{tail(log_path)}")
    say(f"Database {name} is ready.")


def cmd_setup(args):
    cfg = ensure_environment(args.odoo_src)
    ensure_postgres()
    ensure_browser()
    if args.no_db:
        return 0
    ensure_demo_db(cfg, args.db)
    say("Start Odoo with: ./scripts/run")
    return 0


def cmd_run(args):
    """Serve the demo database, after whatever set-up step is missing (the
    environment, PostgreSQL, the database itself)."""
    cfg = ensure_environment(args.odoo_src, quiet=True)
    ensure_postgres()
    ensure_demo_db(cfg, args.db, update=False)
    say(
        "Odoo with PRM for Odoo: http://localhost:%d  (database %s)"
        % (args.port, args.db)
    )
    say("Log in as admin / admin. Stop with Ctrl+C.")
    cmd = odoo_cmd(
        cfg,
        "-d",
        args.db,
        f"--db-filter=^{re.escape(args.db)}$",
        "--http-port=%d" % args.port,
    )
    os.chdir(REPO)
    os.execv(cmd[0], cmd)
    return 0  # pragma: no cover


class Tally:
    """Counts of every suite, for the closing `N passed, N failed` line."""

    def __init__(self):
        self.rows = []

    def add(self, name, passed, failed, note="", skipped=0):
        self.rows.append((name, passed, failed, skipped))
        extra = f", {skipped} skipped" if skipped else ""
        say("== %-44s %4d passed, %d failed%s %s" % (name, passed, failed, extra, note))

    def check(self, name, ok, note=""):
        self.add(name, 1 if ok else 0, 0 if ok else 1, note)

    @property
    def passed(self):
        return sum(r[1] for r in self.rows)

    @property
    def failed(self):
        return sum(r[2] for r in self.rows)

    @property
    def skipped(self):
        return sum(r[3] for r in self.rows)


def junit_counts(path):
    """(passed, failed, skipped) from a pytest junit XML file."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return 0, 1, 0
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = failed = skipped = 0
    for suite in suites:
        total += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return total - failed - skipped, failed, skipped


def run_pytest(cfg, tally, name, paths, extra, tmp):
    junit = Path(tmp) / ("{}.xml".format(re.sub(r"\W+", "_", name)))
    say("-- {}: pytest {}".format(name, " ".join(paths)))
    proc = subprocess.run(
        [
            cfg["python"],
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={junit}",
        ]
        + extra
        + list(paths),
        cwd=REPO,
    )
    passed, failed, skipped = junit_counts(junit)
    if proc.returncode not in (0, 1) and not failed:
        failed = 1  # collection/usage error: count it, never a silent pass
    if not passed and not failed:
        failed = 1  # a suite that ran nothing is a failure
    tally.add(name, passed, failed, skipped=skipped)


ODOO_RESULT = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests")
ODOO_SKIP = re.compile(r" INFO \S+ odoo\.addons\.\S+: skipped \S+ : (.*)$", re.M)


def odoo_test_counts(log_path):
    """(passed, failed, skipped) from an Odoo test log."""
    text = Path(log_path).read_text(errors="replace")
    matches = ODOO_RESULT.findall(text)
    if not matches:
        return 0, 1, 0
    failed, errors, total = map(int, matches[-1])
    skipped = len(ODOO_SKIP.findall(text))
    return total - failed - errors - skipped, failed + errors, skipped


def lint(cfg, tally):
    bin_dir = Path(cfg["python"]).parent
    targets = [a for a in ADDONS if (REPO / a).is_dir()] + [
        p.parent.name
        for p in REPO.glob("prm_*/__manifest__.py")
        if p.parent.name not in ADDONS
    ]
    py_targets = targets + ["tests", "bench", "scripts"]
    for name, cmd in (
        ("ruff check", [bin_dir / "ruff", "check", "--no-fix"] + py_targets),
        ("ruff format --check", [bin_dir / "ruff", "format", "--check"] + py_targets),
        (
            "pylint-odoo (mandatory)",
            [bin_dir / "pylint", "--rcfile=.pylintrc-mandatory"] + targets,
        ),
    ):
        code, out = capture([str(c) for c in cmd])
        if code:
            say(out)
        tally.check(name, code == 0)


def cmd_test(args):
    start = time.time()
    cfg = ensure_environment(args.odoo_src, quiet=True)
    ensure_postgres()
    ensure_browser()
    tally = Tally()
    tmp = tempfile.mkdtemp(prefix="prm-test-")
    addons = ",".join(ADDONS)
    db = "prm_test_%d" % os.getpid()
    demo_db = db + "_demo"
    try:
        if not args.no_lint:
            lint(cfg, tally)
        run_pytest(
            cfg,
            tally,
            "pure-Python tests (tests/engine, tests/meta)",
            ["tests/engine", "tests/meta"],
            ["-p", "no:odoo"],
            tmp,
        )

        # Odoo's own runner installs the addons (and the bridges) on a fresh
        # copy of a database with crm, mass_mailing and website_crm
        copy_db(cfg, template_db(cfg, demo=False, modules=TEST_BASE_MODULES), db)
        log_path = Path(tmp) / "odoo-tests.log"
        tested = ADDONS + BRIDGES
        tags = ",".join("/" + a for a in tested)
        say(f"-- Odoo tests: install {','.join(tested)} with --test-tags {tags}")
        rc = run_odoo_logged(
            cfg,
            [
                "-d",
                db,
                "-i",
                ",".join(tested),
                "--test-tags",
                tags,
                "--without-demo=all",
                "--stop-after-init",
                "--log-level=test",
                "--http-port=%d" % free_port(),
            ],
            log_path,
        )
        passed, failed, skipped = odoo_test_counts(log_path)
        for reason in sorted(set(ODOO_SKIP.findall(Path(log_path).read_text()))):
            say(f"   skipped: {reason.strip()}")
        if rc and not failed:
            failed = 1
        if failed or rc:
            kept = Path(tempfile.gettempdir()) / "prm-last-odoo-tests.log"
            shutil.copyfile(log_path, kept)
            say(tail(log_path, 120))
            say(f"(full log of the Odoo tests: {kept})")
        else:
            say(ODOO_RESULT.search(Path(log_path).read_text()).group(0))
        tally.add(f"Odoo tests ({tags})", passed, failed, skipped=skipped)
        # warnings about the addons at install (missing ACL, bad view...);
        # test failures are already counted above
        noisy = [
            line
            for line in Path(log_path).read_text(errors="replace").splitlines()
            if re.search(r" (WARNING|ERROR|CRITICAL) ", line)
            and "prm" in line
            and ".tests." not in line
            and "odoo.tests.result" not in line
        ]
        for line in noisy[:20]:
            say(line)
        tally.check("install log has no PRM warning/error", not noisy)

        # repository-level tests needing the registry run on the same database
        odoo_cfg = Path(tmp) / "odoo.cfg"
        lines = [
            "[options]",
            f"addons_path = {addons_path(cfg)}",
            "data_dir = {}".format(cfg["data_dir"]),
            f"db_name = {db}",
        ]
        for var, opt in (
            ("PGHOST", "db_host"),
            ("PGPORT", "db_port"),
            ("PGUSER", "db_user"),
            ("PGPASSWORD", "db_password"),
        ):
            if os.environ.get(var):
                lines.append(f"{opt} = {os.environ[var]}")
        odoo_cfg.write_text("\n".join(lines) + "\n")
        run_pytest(
            cfg,
            tally,
            "cross-addon tests (tests/odoo, pytest-odoo)",
            ["tests/odoo"],
            [f"--odoo-config={odoo_cfg}"],
            tmp,
        )

        # the addons also install cleanly with demo data
        copy_db(cfg, template_db(cfg, demo=True), demo_db)
        demo_log = Path(tmp) / "odoo-demo.log"
        rc = run_odoo_logged(
            cfg,
            [
                "-d",
                demo_db,
                "-i",
                addons,
                "--stop-after-init",
                "--http-port=%d" % free_port(),
            ],
            demo_log,
        )
        if rc:
            say(tail(demo_log))
        tally.check("install with demo data", rc == 0)
        missing = demo_shortfalls(demo_db) if rc == 0 else ["an installed demo"]
        tally.check(
            "demo shows a real history",
            not missing,
            "" if not missing else "missing: " + ", ".join(missing),
        )
    finally:
        if not args.keep_db:
            drop_db(cfg, db)
            drop_db(cfg, demo_db)
        shutil.rmtree(tmp, ignore_errors=True)
    say("(%.0f s)" % (time.time() - start))
    skipped = f", {tally.skipped} skipped" if tally.skipped else ""
    say("%d passed, %d failed%s" % (tally.passed, tally.failed, skipped))
    return 1 if tally.failed else 0


def cmd_bench(args):
    cfg = ensure_environment(quiet=True)
    ensure_postgres()
    env = dict(os.environ, PRM_ODOO_ENV=str(config_file()))
    cmd = [cfg["python"], str(REPO / "bench" / "run.py")] + list(args.only)
    return subprocess.run(cmd, cwd=REPO, env=env).returncode


def cmd_env(_args):
    cfg = load_config()
    if not cfg:
        raise SetupError("No environment recorded yet: run ./scripts/setup.")
    cfg["addons_path"] = addons_path(cfg)
    print(json.dumps(cfg, indent=2, sort_keys=True))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="prm_dev", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("setup", help="set up the environment and the demo database")
    p.add_argument("--odoo-src", help="an Odoo 18.0 source tree (else ODOO_SRC)")
    p.add_argument("--db", default="prm_demo", help="demo database (prm_demo)")
    p.add_argument("--no-db", action="store_true", help="only the environment")
    p.set_defaults(func=cmd_setup)
    p = sub.add_parser(
        "run", help="set up what is missing, then start Odoo with the demo database"
    )
    p.add_argument("--odoo-src", help="an Odoo 18.0 source tree (else ODOO_SRC)")
    p.add_argument("--db", default="prm_demo")
    p.add_argument("--port", type=int, default=8069)
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("test", help="every test suite; ends with `N passed, N failed`")
    p.add_argument("--odoo-src", help="an Odoo 18.0 source tree (else ODOO_SRC)")
    p.add_argument("--keep-db", action="store_true", help="keep the test databases")
    p.add_argument("--no-lint", action="store_true", help="skip the linters")
    p.set_defaults(func=cmd_test)
    p = sub.add_parser("bench", help="run benchmarks, write docs/benchmarks.md")
    p.add_argument("only", nargs="*", help="names of benchmarks to run (default all)")
    p.set_defaults(func=cmd_bench)
    p = sub.add_parser("env", help="print the recorded environment")
    p.set_defaults(func=cmd_env)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SetupError as exc:
        print(str(exc).rstrip(), file=sys.stderr, flush=True)
        if args.command == "test":
            print("0 passed, 1 failed", flush=True)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
