# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

TRACKED = {"stage_id", "active"}


class CrmLead(models.Model):
    _inherit = "crm.lead"

    prm_stage_history_ids = fields.One2many(
        "prm.stage.history", "lead_id", string="Stage History", readonly=True
    )

    @api.model_create_multi
    def create(self, vals_list):
        leads = super().create(vals_list)
        self.env["prm.stage.history"].sudo()._prm_capture_created(leads)
        return leads

    def write(self, vals):
        """Stage, won, lost and restore moves are written to the stage
        history in the same transaction, in bulk for many leads."""
        if not TRACKED & set(vals):
            return super().write(vals)
        History = self.env["prm.stage.history"].sudo()
        before = History._prm_state(self)
        res = super().write(vals)
        History._prm_capture(self, before)
        return res

    def _merge_dependences(self, opportunities):
        self.env["prm.stage.history"].sudo()._prm_merge(self, opportunities)
        return super()._merge_dependences(opportunities)
