# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Install: rebuild the stage history of existing leads from Odoo's tracking.

Small databases get it at once; larger ones get it from a scheduled job that
works through the leads in batches, reports its progress and resumes where it
stopped (new moves are captured live meanwhile)."""

from .tools import (
    cohort_rollup,
    lead_facts,
    pipeline_rollup,
    source_facts,
    stay_rollup,
)

AT_ONCE = 5000  # leads


def post_init_hook(env):
    History = env["prm.stage.history"]
    if History._prm_backfill_start() <= AT_ONCE:
        History._cron_prm_backfill()
        # demo data: crm's demo leads have no tracked past to rebuild
        if env["ir.module.module"].search([("name", "=", "prm_funnel")]).demo:
            History._prm_demo_history()
            env["prm.acquisition.cost"]._prm_demo_costs()
    else:
        env.ref("prm_funnel.ir_cron_prm_funnel_backfill")._trigger()


def uninstall_hook(env):
    """Drop the velocity report's snapshot and the SQL function behind it,
    the stored lead facts and the Source Quality report's copy of the leads
    (their triggers on crm_lead stay otherwise) and the funnel pivots' and
    analysis's sums."""
    env.cr.execute("DROP MATERIALIZED VIEW IF EXISTS prm_velocity_snapshot")
    env.cr.execute("DROP FUNCTION IF EXISTS prm_velocity_rows(int)")
    env.cr.execute(lead_facts.DROP)
    env.cr.execute(source_facts.DROP)
    env.cr.execute(stay_rollup.DROP)
    env.cr.execute(cohort_rollup.DROP)
    env.cr.execute(pipeline_rollup.DROP)
