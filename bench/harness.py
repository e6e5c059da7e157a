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


def odoo_script(cfg, db, script, env=None, input=None):  # noqa: A002
    """Run a Python `script` with Odoo loaded on `db` (`input` on its standard
    input); its CompletedProcess."""
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
        input=input,
    )


def install_bench_ruleset(db):
    """The benchmarks' active rule set: fit and engagement rules like a
    marketer's (visits, pricing page, opens, clicks, registration)."""
    psql(
        db,
        """
        UPDATE prm_scoring_ruleset SET active = false;
        INSERT INTO prm_scoring_ruleset (name, version, active, company_id, fit_weight,
            engagement_weight, fit_cap, engagement_cap, horizon_days)
        VALUES ('bench', 1, true, 1, 40, 60, 60, 60, 30);
        INSERT INTO prm_scoring_rule (name, ruleset_id, company_id, sequence, active,
            kind, points, domain, event_type_id, half_life_days, max_points,
            period_days, period_cap, url_pattern)
        SELECT r.name, s.id, 1, 10, true, r.kind, r.points, r.domain,
               (SELECT id FROM prm_event_type WHERE code = r.code), r.hl, r.cap,
               r.pd, r.pc, r.url
          FROM prm_scoring_ruleset s,
               (VALUES
                ('Phone', 'fit', 10, '[(''phone'', ''!='', False)]', NULL,
                 0, 0, 0, 0, NULL),
                ('Belgium', 'fit', 20, '[(''country_id.code'', ''='', ''BE'')]', NULL,
                 0, 0, 0, 0, NULL),
                ('Probability', 'fit', 10, '[(''probability'', ''>='', 10)]', NULL,
                 0, 0, 0, 0, NULL),
                ('Not lost', 'fit', 5, '[(''active'', ''='', True)]', NULL,
                 0, 0, 0, 0, NULL),
                ('Visits', 'engagement', 2, '[]', 'page_view', 14, 25, 1, 6, NULL),
                ('Pricing', 'engagement', 5, '[]', 'page_view', 14, 15, 0, 0,
                 '*/pricing*'),
                ('Open', 'engagement', 1, '[]', 'email_open', 21, 5, 0, 0, NULL),
                ('Click', 'engagement', 6, '[]', 'email_click', 21, 18, 0, 0, NULL),
                ('Registered', 'engagement', 20, '[]', 'registration', 60, 20, 0, 0,
                 NULL))
               AS r(name, kind, points, domain, code, hl, cap, pd, pc, url)
         WHERE s.name = 'bench';
        """,
    )
