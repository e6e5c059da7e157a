# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models


class PrmEvent(models.Model):
    _inherit = "prm.event"

    @api.model
    def _recompute_metrics(self, lead_ids=(), partner_ids=(), now=None):
        """Every write path of events ends here: rescore the leads at once."""
        res = super()._recompute_metrics(lead_ids, partner_ids, now=now)
        ids = sorted(i for i in lead_ids if i)
        if ids:
            self.env["crm.lead"].browse(ids)._prm_rescore(now=now, reason="event")
        return res
