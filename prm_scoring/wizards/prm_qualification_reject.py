# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models
from odoo.exceptions import UserError


class PrmQualificationReject(models.TransientModel):
    """Sales refuse qualified leads and say why (the reason goes to the chatter)."""

    _name = "prm.qualification.reject"
    _description = "Reject Qualified Leads"

    lead_ids = fields.Many2many("crm.lead", required=True)
    reason = fields.Text(required=True)

    def action_reject(self):
        self.ensure_one()
        for lead in self.lead_ids:
            if lead.prm_qualification != "qualified":
                raise UserError(self.env._("Only qualified leads can be rejected."))
            lead._prm_log_moves("rejected", reason=self.reason)
            lead.prm_qualification = "rejected"
            lead.message_post(
                body=self.env._("Rejected by sales: %(reason)s", reason=self.reason),
                subtype_xmlid="mail.mt_note",
            )
        return {"type": "ir.actions.act_window_close"}
