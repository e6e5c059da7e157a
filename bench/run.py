"""Benchmark harness: runs every ``bench/bench_*.py`` and writes docs/benchmarks.md.

Run it with ``./scripts/bench [NAME ...]``, which uses the recorded virtualenv
(so Odoo is importable) and passes the recorded environment in
``PRM_ODOO_ENV``.  Each benchmark module defines:

* ``TITLE``: the section title;
* ``run(ctx) -> str``: does its measurements and returns a Markdown section
  body (tables of numbers, with the ratio it promises measured side by side in
  the same run).  ``ctx`` holds ``env`` (the recorded environment: python,
  odoo_src, data_dir, addons_path...) and ``repo`` (a ``pathlib.Path``).

Targets are reported, never asserted: timing belongs here, not in tests.
"""

import datetime
import importlib.util
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "docs" / "benchmarks.md"
sys.path.insert(0, str(REPO / "bench"))  # benchmarks import bench/harness.py


def discover(only=()):
    """The benchmark modules, by name (``bench_<name>.py``), sorted."""
    found = {}
    for path in sorted((REPO / "bench").glob("bench_*.py")):
        name = path.stem[len("bench_") :]
        if only and name not in only:
            continue
        spec = importlib.util.spec_from_file_location("prm_bench_" + name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found[name] = module
    missing = set(only) - set(found)
    if missing:
        raise SystemExit("unknown benchmark(s): " + ", ".join(sorted(missing)))
    return found


def previous_sections():
    """{title: markdown} of the sections already in docs/benchmarks.md."""
    if not OUTPUT.exists():
        return {}
    sections, title, lines = {}, None, []
    for line in OUTPUT.read_text().splitlines():
        if line.startswith("## "):
            if title:
                sections[title] = "\n".join(lines).strip() + "\n"
            title, lines = line[3:].strip(), [line]
        elif title:
            lines.append(line)
    if title:
        sections[title] = "\n".join(lines).strip() + "\n"
    return sections


def machine():
    """One line describing the machine the numbers come from."""
    mem = ""
    try:
        with open("/proc/meminfo") as handle:
            kib = int(handle.readline().split()[1])
        mem = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    pg = subprocess.run(
        ["psql", "-X", "-Atc", "show server_version", "-d", "postgres"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return (
        f"{platform.machine()}, {os.cpu_count()} CPU{mem}, Python "
        f"{platform.python_version()}, PostgreSQL {pg or 'n/a'}"
    )


def main(argv):
    env_file = os.environ.get("PRM_ODOO_ENV")
    env = json.loads(Path(env_file).read_text()) if env_file else {}
    ctx = {"env": env, "repo": REPO}
    modules = discover(argv)
    # a partial run replaces only its own sections, keeping the others
    sections = previous_sections() if argv else {}
    for name, module in modules.items():
        print(f"== benchmark {name}: {module.TITLE}", flush=True)
        body = module.run(ctx)
        sections[module.TITLE] = f"## {module.TITLE}\n\n{body.strip()}\n"
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmarks",
        "",
        "Written by `./scripts/bench` (see `bench/run.py`); do not edit by hand.",
        "",
        f"- Run: {now}",
        f"- Machine: {machine()}",
        "",
    ]
    if sections:
        lines += list(sections.values())
    else:
        lines += ["No benchmark is defined yet (`bench/bench_*.py`).", ""]
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text("\n".join(lines))
    print(f"wrote {OUTPUT.relative_to(REPO)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
