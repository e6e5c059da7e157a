# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

ACTIVITY_EVENT_TYPES = {"phonecall": "call", "meeting": "meeting"}


class MailActivity(models.Model):
    _inherit = "mail.activity"

    def _action_done(self, feedback=False, attachment_ids=None):
        """Completed calls and meetings on leads become engagement events."""
        values = []
        for activity in self:
            code = ACTIVITY_EVENT_TYPES.get(activity.activity_type_id.category)
            if code and activity.res_model == "crm.lead" and activity.res_id:
                values.append(
                    (
                        activity.id,
                        code,
                        activity.res_id,
                        activity.summary or activity.activity_type_id.name,
                    )
                )
        result = super()._action_done(feedback=feedback, attachment_ids=attachment_ids)
        if values:
            leads = self.env["crm.lead"].sudo().browse([v[2] for v in values]).exists()
            partner_of = {lead.id: lead.partner_id.id for lead in leads}
            self.env["prm.ingest"].sudo()._record(
                [
                    {
                        "code": code,
                        "lead_id": lead_id,
                        "partner_id": partner_of.get(lead_id),
                        "origin": "activity",
                        "external_id": f"activity-{activity_id}",
                        "title": title,
                        "occurred_at": fields.Datetime.now(),
                    }
                    for activity_id, code, lead_id, title in values
                    if lead_id in partner_of
                ]
            )
        return result
