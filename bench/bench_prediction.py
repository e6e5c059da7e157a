"""Conversion probability against Odoo's PLS and the truth, on a simulated
history with known outcomes.

``prm_scoring``'s prospect simulator (``engine/simulator.py``) makes
``PRM_BENCH_PROSPECTS`` prospects (default 6,000) over a year: declared
profiles, a buying phase that comes and goes, engagement that rises before a
purchase, stage moves, wins and losses.  The history up to today is loaded as
a CRM holds it (leads by the ORM, stage moves in Odoo's tracking, events), on
a plain install (the default rule set: no fit rules).  Then, in one run:

* Odoo's PLS is offered every static field and updates its probabilities
  (``_cron_update_automated_probabilities``), as Odoo shows them;
* the conversion model is trained by the product's own path and every lead
  rescored;
* the leads still open are judged against what they do in the next 30 days
  (known to the simulator only): AUC (bootstrap 95% interval), Brier score and
  ECE of PRM, of Odoo's PLS and of the simulator's oracle (each prospect's
  true probability).

Targets (reported, not asserted): PRM's AUC at least 0.06 above PLS's, its
Brier score at most 60% of PLS's, ECE <= 0.02.
"""

import json
import os

from harness import drop_db, fresh_db, odoo_script

TITLE = "Conversion probability vs Odoo PLS and the truth (prm_scoring)"
PROSPECTS = int(os.environ.get("PRM_BENCH_PROSPECTS", "6000"))
SEEDS = [int(s) for s in os.environ.get("PRM_BENCH_SEEDS", "7").split(",")]

SCRIPT = r"""
import json, os, sys, time
import numpy as np
import odoo
from odoo import api, fields, SUPERUSER_ID
from odoo.tools import config
config.parse_config(sys.argv[1:])
from odoo.addons.prm_scoring.engine import evaluation, simulator
n, seed = int(os.environ["PRM_SIM_N"]), int(os.environ["PRM_SIM_SEED"])
registry = odoo.modules.registry.Registry(config["db_name"])
out = {}
with registry.cursor() as cr:
    env = api.Environment(cr, SUPERUSER_ID, {})
    Lead = env["crm.lead"]
    now = fields.Datetime.now()
    scenario = simulator.Scenario(n=n, days=365, horizon=30, seed=seed)
    start = time.perf_counter()
    lead_of = env["prm.prospect.history"]._load(scenario, now)
    Lead._cron_prm_rescore_all(now=now)
    out["load"] = time.perf_counter() - start
    cr.commit()
    # Odoo's PLS, offered every static field a lead has here
    offered = [f for f in ("country_id", "state_id", "lang_id", "source_id",
                           "medium_id", "campaign_id", "tag_ids", "email_state",
                           "phone_state") if f in Lead._fields]
    icp = env["ir.config_parameter"]
    icp.set_param("crm.pls_fields", ",".join(offered))
    icp.set_param("crm.pls_start_date", "2000-01-01")
    start = time.perf_counter()
    Lead._cron_update_automated_probabilities()
    out["pls_time"] = time.perf_counter() - start
    out["pls_fields"] = offered
    cr.commit()
    # the conversion model, trained by the product's own path
    ruleset = env["prm.scoring.ruleset"]._get_active()
    out["fit_rules"] = len(ruleset.rule_ids.filtered(lambda r: r.kind == "fit"))
    start = time.perf_counter()
    model = env["prm.propensity.model"]._train(ruleset, now=now)
    out["train"] = time.perf_counter() - start
    Lead._cron_prm_rescore_all(now=now)
    cr.commit()
    out["card"] = {k: model[k] for k in (
        "state", "message", "sample_size", "auc", "auc_low", "auc_high", "brier",
        "ece", "pls_auc", "pls_auc_low", "pls_auc_high", "pls_brier", "pls_ece",
        "pls_coverage", "diff_low", "diff_high")}
    # the open leads, judged on the next 30 days
    is_open = scenario.is_open() & (lead_of > 0)
    idx = np.nonzero(is_open)[0]
    cr.execute(
        "SELECT id, prm_conversion_probability, automated_probability "
        "FROM crm_lead WHERE id = ANY(%s)", [lead_of[idx].tolist()])
    got = {r[0]: r[1:] for r in cr.fetchall()}
    prm = np.array([(got[i][0] or 0.0) / 100 for i in lead_of[idx].tolist()])
    pls = np.array([(got[i][1] or 0.0) / 100 for i in lead_of[idx].tolist()])
    y = scenario.outcome()[idx]
    oracle = scenario.oracle()[idx]
    out["open"] = len(idx)
    out["converted"] = int(y.sum())
    out["with_probability"] = sum(
        got[i][0] is not None for i in lead_of[idx].tolist())
    for name, p in (("prm", prm), ("pls", pls), ("oracle", oracle)):
        m = evaluation.metrics(p, y)
        m.update(evaluation.bootstrap_auc(p, y))
        out[name] = m
print("RESULT", json.dumps(out))
"""


def _one(cfg, seed):
    db = f"prm_bench_prediction_{seed}"
    fresh_db(cfg, db, "prm_scoring")
    env = dict(os.environ, PRM_SIM_N=str(PROSPECTS), PRM_SIM_SEED=str(seed))
    proc = odoo_script(cfg, db, SCRIPT, env=env)
    drop_db(cfg, db)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT")), None)
    if not line:
        raise RuntimeError("prediction benchmark failed:\n" + proc.stderr[-3000:])
    return json.loads(line.split(" ", 1)[1])


def _fmt(m):
    return (
        f"{m['auc']:.3f} ({m['low']:.3f} – {m['high']:.3f})",
        f"{m['brier']:.4f}",
        f"{m['ece']:.3f}",
    )


def run(ctx):
    cfg = ctx["env"]
    sections = []
    for seed in SEEDS:
        r = _one(cfg, seed)
        prm, pls, oracle = r["prm"], r["pls"], r["oracle"]
        card = r["card"]
        rows = [
            ("PRM conversion probability", *_fmt(prm)),
            ("Odoo PLS (`automated_probability`)", *_fmt(pls)),
            ("simulator's oracle (true probability)", *_fmt(oracle)),
        ]
        table = "\n".join(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows)
        checks = [
            (
                "PRM AUC - PLS AUC",
                f"{prm['auc'] - pls['auc']:+.3f}",
                ">= +0.06",
            ),
            (
                "PRM Brier / PLS Brier",
                f"{100 * prm['brier'] / pls['brier']:.0f} %",
                "<= 60 %",
            ),
            ("PRM ECE", f"{prm['ece']:.3f}", "<= 0.02"),
            (
                "model card (out of time, snapshots): AUC, ECE; PLS AUC; "
                "difference 95%",
                f"{card['auc']:.3f} ({card['auc_low']:.3f} – {card['auc_high']:.3f}), "
                f"{card['ece']:.3f}; {card['pls_auc']:.3f}; "
                f"{card['diff_low']:+.3f} – {card['diff_high']:+.3f}",
                "",
            ),
            (
                "loading the history (ORM leads, tracking, events, first scoring)",
                f"{r['load']:.0f} s",
                "",
            ),
            (
                "training (snapshots)",
                f"{r['train']:.1f} s ({card['sample_size']:,})",
                "",
            ),
        ]
        check_table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in checks)
        sections.append(
            f"Seed {seed}: {PROSPECTS:,} prospects over 365 days; "
            f"{r['open']:,} leads open today, {r['converted']:,} of them won "
            f"in the next 30 days; {r['with_probability']:,} open leads with a "
            f"PRM probability. Rule set: the default one ({r['fit_rules']} fit "
            f"rules). Odoo PLS offered: {', '.join(r['pls_fields'])}.\n\n"
            "| open leads, next 30 days | AUC (95%) | Brier | ECE |\n"
            "|---|---|---|---|\n" + table + "\n\n"
            "| measure | value | target |\n|---|---|---|\n" + check_table + "\n"
        )
    return "\n".join(sections)
