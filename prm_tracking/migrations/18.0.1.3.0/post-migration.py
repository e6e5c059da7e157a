# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""18.0.1.3.0: leads and partners keep their first touch (site and referrer
of their first event); it is filled in for every person with events."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    for model in ("crm.lead", "res.partner"):
        env[model]._prm_recompute_all_metrics()
