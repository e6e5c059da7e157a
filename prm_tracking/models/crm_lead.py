# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from ..engine import AGE_BANDS, COMPANY_SIZES


class CrmLead(models.Model):
    _name = "crm.lead"
    _inherit = ["crm.lead", "prm.person.mixin"]

    prm_event_ids = fields.One2many(
        "prm.event", "lead_id", string="Engagement", readonly=True
    )
    prm_industry_id = fields.Many2one(
        "res.partner.industry", string="Industry", ondelete="set null"
    )
    prm_company_size = fields.Selection(
        [(code, aliases[0]) for code, aliases in COMPANY_SIZES.items()],
        string="Company Size",
    )
    prm_age_band = fields.Selection(
        [(code, aliases[0]) for code, aliases in AGE_BANDS.items()],
        string="Age Band",
    )
    prm_interest_ids = fields.Many2many(
        "prm.interest", string="Interests", relation="crm_lead_prm_interest_rel"
    )

    def _prm_event_domain(self):
        return [("lead_id", "in", self.ids)]

    def action_prm_forget(self):
        """Erase this lead's events and visitor links (right to be forgotten)."""
        self._prm_forget(leads=self)
        return True
