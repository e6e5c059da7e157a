"""Source quality and acquisition-cost reports over a large database.

A database with ``prm_funnel``, ``PRM_BENCH_FUNNEL_LEADS`` leads (default
100,000) over 8 sources, 500,000 stays, 200,000 engagement events (sites and
referrers), 20,000 qualification moves and 96 cost lines, written with SQL.
Times, median of 5: the source-quality pivot by source and by referrer, the
Source Quality analysis (intervals, verdicts, costs, ranking) by source, the
cost pivot, and the acquisition-cost incidence of a year.

Target (reported, not asserted): each <= 1 s.
"""

import json

from bench_funnel import LEADS, POPULATE
from harness import drop_db, fresh_db, odoo_script, psql

TITLE = "Source quality and costs (prm_funnel)"

EXTRA = """
INSERT INTO prm_tracking_site (name, public_key, active, company_id, require_consent,
    create_uid, write_uid, create_date, write_date)
SELECT 'Bench site ' || g, 'bench-key-' || g, true, 1, false, 1, 1, now(), now()
  FROM generate_series(1, 3) AS g;
INSERT INTO prm_event (event_type_id, channel, occurred_at, lead_id, origin,
    external_id, url, referrer, site_id, is_bot, company_id, create_date,
    write_date, create_uid, write_uid)
SELECT (SELECT id FROM prm_event_type WHERE code = 'page_view'), 'web',
       now() - (g % 700) * interval '1 day', l.id, 'import', 'src' || g,
       'https://www.example.com/p',
       (ARRAY['https://www.google.com/search', 'https://bing.com/', NULL,
              'https://news.example.org/a'])[1 + g % 4],
       (SELECT id FROM prm_tracking_site ORDER BY id OFFSET g % 3 LIMIT 1),
       false, 1, now(), now(), 1, 1
  FROM generate_series(1, 200000) AS g
  JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM crm_lead) l
    ON l.n = 1 + (g::bigint * 7919) % {leads};
INSERT INTO prm_qualification_entry (lead_id, from_state, to_state, date, score,
    company_id, create_uid, write_uid, create_date, write_date)
SELECT id, 'new', 'qualified', create_date + interval '5 days', 50, 1, 1, 1, now(),
       now()
  FROM crm_lead WHERE id % 5 = 0;
INSERT INTO prm_acquisition_cost (name, date_from, date_to, amount, amount_company,
    currency_id, company_id, kind, source_id, create_uid, write_uid, create_date,
    write_date)
SELECT 'Bench cost ' || g || '-' || m,
       date_trunc('month', now() - m * interval '1 month')::date,
       (date_trunc('month', now() - m * interval '1 month')
            + interval '1 month - 1 day')::date,
       1000 + g * 100, 1000 + g * 100,
       (SELECT currency_id FROM res_company WHERE id = 1), 1,
       CASE WHEN g = 8 THEN 'sales' ELSE 'marketing' END,
       (SELECT id FROM utm_source ORDER BY id OFFSET g - 1 LIMIT 1),
       1, 1, now(), now()
  FROM generate_series(1, 8) AS g CROSS JOIN generate_series(0, 11) AS m;
ANALYZE prm_event; ANALYZE prm_qualification_entry; ANALYZE prm_acquisition_cost;
"""

SCRIPT = r"""
import json, statistics, sys, time
from datetime import timedelta
import odoo
from odoo import api, fields, SUPERUSER_ID
from odoo.tools import config
config.parse_config(sys.argv[1:])
registry = odoo.modules.registry.Registry(config["db_name"])
out = {}

def median_of(function, runs=5):
    times, result = [], None
    for _i in range(runs):
        env.invalidate_all()
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result

with registry.cursor() as cr:
    env = api.Environment(cr, SUPERUSER_ID, {})
    today = fields.Date.today()
    year_ago = today - timedelta(days=365)
    report = env["prm.source.report"]
    aggregates = ["leads:sum", "qualified_rate:avg", "won_rate:avg",
                  "first_score:avg", "score:avg", "won_revenue:sum"]
    seconds, groups = median_of(
        lambda: report._read_group([], ["source_id"], aggregates))
    out["source-quality pivot by source, all leads"] = (seconds, len(groups))
    seconds, groups = median_of(lambda: report._read_group(
        [("create_date", ">=", year_ago)], ["referrer_domain"], aggregates))
    out["source-quality pivot by referrer, leads of the last year"] = (
        seconds, len(groups))

    def analysis():
        wizard = env["prm.source.quality"].create(
            {"date_from": year_ago, "date_to": today})
        wizard._compute_quality()
        return wizard
    seconds, wizard = median_of(analysis)
    out["Source Quality analysis by source (intervals, verdicts, costs)"] = (
        seconds, len(wizard.line_ids))
    costs = env["prm.acquisition.cost"]
    seconds, groups = median_of(lambda: costs._read_group(
        [], ["source_id", "date_from:quarter"], ["amount_company:sum"]))
    out["cost pivot by source x quarter"] = (seconds, len(groups))

    def incidence():
        wizard = env["prm.cost.incidence"].create({"year": today.year})
        return wizard.incidence
    seconds, _rate = median_of(incidence)
    out["acquisition-cost incidence of the year"] = (seconds, 1)
    cr.execute("SELECT count(*) FROM crm_lead")
    out["leads"] = cr.fetchone()[0]
    cr.rollback()
print("RESULT", json.dumps(out))
"""


def run(ctx):
    cfg = ctx["env"]
    db = "prm_bench_sources"
    fresh_db(cfg, db, "prm_funnel")
    psql(db, POPULATE.format(leads=LEADS))
    psql(db, EXTRA.format(leads=LEADS))
    proc = odoo_script(cfg, db, SCRIPT)
    drop_db(cfg, db)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT")), None)
    if not line:
        raise RuntimeError("sources benchmark failed:\n" + proc.stderr[-3000:])
    out = json.loads(line.split(" ", 1)[1])
    rows = [("leads", f"{out.pop('leads'):,}", "100,000")]
    for name, (seconds, groups) in out.items():
        rows.append((f"{name} ({groups} rows)", f"**{seconds:.2f} s**", "<= 1 s"))
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    return (
        "One process, database on this machine, data written with SQL: 100,000 "
        "leads over 8 sources, 500,000 stays, 200,000 events, 20,000 "
        "qualification moves, 96 cost lines. Median of 5 runs each.\n\n"
        "| measure | value | target |\n|---|---|---|\n" + table + "\n"
    )
