# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""18.0.1.1.0: retention moved to ``prm.retention`` (the cron records are
``noupdate``, so they are pointed at it here)."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    model = env["ir.model"]._get("prm.retention")
    for xmlid in ("ir_cron_prm_event_purge", "ir_cron_prm_metrics_refresh"):
        cron = env.ref(f"prm_tracking.{xmlid}", raise_if_not_found=False)
        if cron:
            cron.model_id = model
