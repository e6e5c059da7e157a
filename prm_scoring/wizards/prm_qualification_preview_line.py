# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class PrmQualificationPreviewLine(models.TransientModel):
    """One rule of a qualification preview."""

    _name = "prm.qualification.preview.line"
    _description = "PRM Qualification Preview Line"
    _order = "id"

    preview_id = fields.Many2one(
        "prm.qualification.preview", required=True, ondelete="cascade"
    )
    rule_id = fields.Many2one("prm.qualification.rule", readonly=True)
    state = fields.Selection(related="rule_id.state", string="Sends to")
    move_count = fields.Integer(string="Open leads it moves now", readonly=True)
    lead_ids = fields.Many2many("crm.lead", string="Leads it moves", readonly=True)
    closed_count = fields.Integer(string="Closed leads it would have taken")
    won_count = fields.Integer(string="Of which won")
    precision = fields.Float(
        string="Won (%)",
        digits=(5, 1),
        help="For a rule that qualifies: the share of the closed leads it would "
        "have taken that were won.",
    )
    false_negatives = fields.Integer(
        string="Won deals it would have dropped",
        help="For a rule that eliminates or keeps nurturing: won deals it would "
        "have taken.",
    )

    def action_view_leads(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "crm.lead",
            "view_mode": "list,form",
            "views": [(False, "list"), (False, "form")],
            "domain": [("id", "in", self.lead_ids.ids)],
            "context": {"active_test": False},
            "name": self.env._("Leads moved by %(rule)s", rule=self.rule_id.name),
        }
