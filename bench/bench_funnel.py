"""Funnel: report load times, and the cost of capturing stage history.

* Reports: a database with ``prm_funnel``, ``PRM_BENCH_FUNNEL_LEADS`` leads
  (default 100,000) and 5 stays each (500,000 ``prm.stage.history`` rows),
  written with SQL.  Times the ``read_group`` calls the pivot views make
  (funnel by stage, valued progression by source, both also filtered on a
  year of lead creation and split by team; velocity by month and team),
  median of 5 runs each.
* Capture: two databases from the same template, one with ``prm_funnel``,
  one with ``prm_scoring`` only (everything but the history capture), 1,000
  leads each.  In one process, alternating rounds move all 1,000 leads to the
  next stage with one ORM ``write`` (Odoo's own tracking included) and
  commit; the ratio of the two, per round, median.

Targets (reported, not asserted): each pivot <= 1 s; capture <= 10 % extra.
"""

import json
import os

from harness import drop_db, fresh_db, odoo_script, psql

TITLE = "Funnel (prm_funnel)"
LEADS = int(os.environ.get("PRM_BENCH_FUNNEL_LEADS", "100000"))
MOVED = 1000
ROUNDS = int(os.environ.get("PRM_BENCH_FUNNEL_ROUNDS", "12"))

POPULATE = """
INSERT INTO crm_lead (name, type, active, company_id, team_id, stage_id,
    expected_revenue, probability, source_id, create_date, write_date,
    create_uid, write_uid, prm_qualification, date_closed)
SELECT 'Funnel lead ' || g, 'opportunity', g % 10 <> 1, 1,
       (SELECT id FROM crm_team ORDER BY id LIMIT 1),
       (SELECT id FROM crm_stage ORDER BY sequence, id OFFSET (g % 3) LIMIT 1),
       1000 + (g % 50) * 100, CASE WHEN g % 10 = 1 THEN 0 ELSE 10 END,
       (SELECT id FROM utm_source ORDER BY id OFFSET (g % 8) LIMIT 1),
       now() - (g % 730) * interval '1 day', now(), 1, 1, 'new',
       CASE WHEN g % 10 = 1 THEN now() - (g % 700) * interval '1 day' END
  FROM generate_series(1, {leads}) AS g;
WITH l AS (
    SELECT id, team_id, source_id, create_date, expected_revenue, active,
           row_number() OVER (ORDER BY id) AS n
      FROM crm_lead WHERE name LIKE 'Funnel lead %'
),
s AS (SELECT id, row_number() OVER (ORDER BY sequence, id) AS n FROM crm_stage
       WHERE NOT COALESCE(is_won, false))
INSERT INTO prm_stage_history (lead_id, lead_ref, stage_id, previous_stage_id,
    date_enter, date_exit, duration_days, exit_kind, expected_revenue,
    stage_win_rate, value, value_delta, is_initial, origin, team_id, source_id,
    lead_create_date, company_id, create_uid, write_uid, create_date, write_date)
SELECT l.id, l.id, s.id, NULL, l.create_date + k * interval '3 days',
       CASE WHEN k < 4 THEN l.create_date + (k + 1) * interval '3 days' END,
       CASE WHEN k < 4 THEN 3 END,
       CASE WHEN k = 4 THEN CASE WHEN l.active THEN 'open' ELSE 'lost' END
            WHEN k % 2 = 0 THEN 'advanced' ELSE 'regressed' END,
       l.expected_revenue, 20 + 10 * (k % 3),
       l.expected_revenue * (0.2 + 0.1 * (k % 3)),
       CASE WHEN k = 0 THEN l.expected_revenue * 0.2 ELSE l.expected_revenue * 0.1 END,
       k = 0, 'backfill', l.team_id, l.source_id, l.create_date, 1, 1, 1, now(), now()
  FROM l CROSS JOIN generate_series(0, 4) AS k
  JOIN s ON s.n = 1 + (k % 3);
ANALYZE crm_lead; ANALYZE prm_stage_history;
"""

REPORTS = r"""
import json, statistics, sys, time
from datetime import timedelta
import odoo
from odoo import api, fields, SUPERUSER_ID
from odoo.tools import config
config.parse_config(sys.argv[1:])
registry = odoo.modules.registry.Registry(config["db_name"])
year = fields.Datetime.now() - timedelta(days=365)
calls = {
    "funnel by stage": ("prm.funnel.report", [], ["stage_id"],
        ["entered:sum", "advanced:sum", "regressed:sum", "won:sum", "lost:sum",
         "advance_rate:avg", "won_rate:avg", "drop_rate:avg", "duration_days:avg"]),
    "funnel by stage x team, leads of the last year": ("prm.funnel.report",
        [("lead_create_date", ">=", year)], ["stage_id", "team_id"],
        ["entered:sum", "advance_rate:avg", "duration_days:avg"]),
    "valued progression by source": ("prm.value.report", [], ["source_id"],
        ["leads:sum", "initial_value:sum", "value_added:sum", "value_lost:sum",
         "net_value:sum", "won_revenue:sum"]),
    "valued progression by source x creation month, last year": (
        "prm.value.report", [("lead_create_date", ">=", year)],
        ["source_id", "lead_create_date:month"],
        ["initial_value:sum", "value_added:sum", "won_revenue:sum"]),
    "velocity by month x team": ("prm.velocity.report", [], ["month:month", "team_id"],
        ["velocity:sum", "open_opportunities:sum", "weighted_pipeline:sum"]),
}
out = {}
with registry.cursor() as cr:
    env = api.Environment(cr, SUPERUSER_ID, {})
    cr.execute("SELECT count(*) FROM prm_stage_history")
    out["stays"] = cr.fetchone()[0]
    for name, (model, domain, groupby, aggregates) in calls.items():
        runs = []
        for _i in range(5):
            env.invalidate_all()
            start = time.perf_counter()
            groups = env[model]._read_group(domain, groupby, aggregates)
            runs.append(time.perf_counter() - start)
        out[name] = (statistics.median(runs), len(groups))
print("RESULT", json.dumps(out))
"""

CAPTURE = r"""
import json, statistics, sys, time
import odoo
from odoo import api, SUPERUSER_ID
from odoo.tools import config
config.parse_config(sys.argv[1:])
dbs = {"with": "%(with)s", "without": "%(without)s"}
rounds = %(rounds)d
moved = %(moved)d
envs, crs, leads, stages = {}, {}, {}, {}
for key, db in dbs.items():
    cr = odoo.modules.registry.Registry(db).cursor()
    env = api.Environment(cr, SUPERUSER_ID, {})
    stage_ids = env["crm.stage"].search(
        [("is_won", "=", False)], order="sequence, id", limit=2
    ).ids
    leads[key] = env["crm.lead"].create([
        {"name": "Moved %%d" %% i, "type": "opportunity", "stage_id": stage_ids[0]}
        for i in range(moved)
    ])
    cr.commit()
    envs[key], crs[key], stages[key] = env, cr, stage_ids
# the capture's own time, measured inside the "with" database
History = type(envs["with"]["prm.stage.history"])
capture_time = []
for name in ("_prm_state", "_prm_capture"):
    original = getattr(History, name)
    def timed(self, *args, _original=original, **kwargs):
        start = time.perf_counter()
        try:
            return _original(self, *args, **kwargs)
        finally:
            capture_time.append(time.perf_counter() - start)
    setattr(History, name, timed)
times = {"with": [], "without": []}
for i in range(rounds):
    order = ("with", "without") if i %% 2 == 0 else ("without", "with")
    for key in order:
        target = stages[key][(i + 1) %% 2]
        start = time.perf_counter()
        leads[key].write({"stage_id": target})
        envs[key].flush_all()
        crs[key].commit()  # Odoo's tracking messages are written at commit
        times[key].append(time.perf_counter() - start)
with_history = envs["with"]["prm.stage.history"].search_count(
    [("lead_id", "in", leads["with"].ids)]
)
for cr in crs.values():
    cr.close()
ratios = [a / b for a, b in zip(times["with"][1:], times["without"][1:])]
print("RESULT", json.dumps({
    "with": times["with"], "without": times["without"],
    "ratio": statistics.median(ratios), "history_rows": with_history,
    "capture": statistics.median(
        [a + b for a, b in zip(capture_time[2::2], capture_time[3::2])]
    ),
}))
"""


def _result(proc, what):
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT")), None)
    if not line:
        raise RuntimeError(f"{what} benchmark failed:\n" + proc.stderr[-3000:])
    return json.loads(line.split(" ", 1)[1])


def run(ctx):
    cfg = ctx["env"]
    # reports over a large history
    db = "prm_bench_funnel"
    fresh_db(cfg, db, "prm_funnel")
    psql(db, POPULATE.format(leads=LEADS))
    reports = _result(odoo_script(cfg, db, REPORTS), "funnel reports")
    drop_db(cfg, db)
    # capture overhead, side by side
    with_db, without_db = "prm_bench_funnel_with", "prm_bench_funnel_without"
    fresh_db(cfg, with_db, "prm_funnel")
    fresh_db(cfg, without_db, "prm_scoring")
    script = CAPTURE % {
        "with": with_db,
        "without": without_db,
        "rounds": ROUNDS,
        "moved": MOVED,
    }
    capture = _result(odoo_script(cfg, with_db, script), "capture")
    drop_db(cfg, with_db)
    drop_db(cfg, without_db)

    rows = [
        (
            "leads / stage history rows",
            f"{LEADS:,} / {reports.pop('stays'):,}",
            "100,000 / 500,000",
        )
    ]
    for name, (seconds, groups) in reports.items():
        target = "" if name.startswith("velocity") else "<= 1 s"
        rows.append(
            (f"pivot: {name} ({groups} groups)", f"**{seconds:.2f} s**", target)
        )
    median_with = sorted(capture["with"][1:])[len(capture["with"][1:]) // 2]
    median_without = sorted(capture["without"][1:])[len(capture["without"][1:]) // 2]
    rows += [
        (
            f"bulk move of {MOVED:,} leads (ORM write + commit), without prm_funnel, "
            "median",
            f"{median_without:.2f} s",
            "",
        ),
        (
            "same move with prm_funnel (history captured), median",
            f"{median_with:.2f} s",
            "",
        ),
        (
            "time spent capturing the history in that move (median)",
            f"{1000 * capture['capture']:.0f} ms "
            f"({100 * capture['capture'] / median_with:.1f} % of the move)",
            "",
        ),
        (
            "**history capture overhead** (median of per-round ratios - 1)",
            f"**{100 * (capture['ratio'] - 1):+.1f} %**",
            "<= 10 %",
        ),
        (
            "stays recorded for the moved leads",
            f"{capture['history_rows']:,}",
            f"{MOVED * (ROUNDS + 1):,}",
        ),
    ]
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    rounds = ", ".join(
        f"{a:.2f}/{b:.2f}"
        for a, b in zip(capture["with"], capture["without"], strict=True)
    )
    return (
        "One process per part, database on this machine. Pivots: `_read_group` "
        "as the pivot view calls it, median of 5. Capture: two databases in one "
        f"process, {ROUNDS} alternating rounds (first round left out of the "
        "medians: warm-up).\n\n"
        "| measure | value | target |\n|---|---|---|\n"
        + table
        + f"\n\nRounds, with/without prm_funnel (s): {rounds}.\n"
    )
