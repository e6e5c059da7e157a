# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class ResPartner(models.Model):
    _name = "res.partner"
    _inherit = ["res.partner", "prm.person.mixin"]

    prm_event_ids = fields.One2many(
        "prm.event", "partner_id", string="Engagement", readonly=True
    )

    def _prm_event_domain(self):
        return [("partner_id", "in", self.ids)]

    @api.model
    def _prm_event_column(self):
        return "partner_id"

    def action_prm_forget(self):
        """Erase the events of these contacts and of their leads, in the
        companies the user works in."""
        leads = (
            self.env["crm.lead"]
            .sudo()
            .with_context(active_test=False)
            .search(
                [
                    ("partner_id", "in", self.ids),
                    ("company_id", "in", [False, *self.env.companies.ids]),
                ]
            )
        )
        self._prm_forget(leads=leads, partners=self)
        return True
