# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

ORIGINS = [
    ("api", "Tracking API"),
    ("browser", "Browser snippet"),
    ("pixel", "Tracking pixel"),
    ("mass_mailing", "Email marketing"),
    ("website", "Odoo website"),
    ("activity", "Activity"),
    ("import", "Import"),
    ("manual", "Manual"),
]


class PrmEvent(models.Model):
    """One thing a prospect did: a page view, an email open, a call, ..."""

    _name = "prm.event"
    _description = "PRM Engagement Event"
    _order = "occurred_at desc, id desc"
    _rec_name = "event_type_id"
    _check_company_auto = True

    event_type_id = fields.Many2one(
        "prm.event.type", required=True, ondelete="restrict", index=True
    )
    event_code = fields.Char(related="event_type_id.code", string="Event Code")
    channel = fields.Selection(related="event_type_id.channel", store=True)
    occurred_at = fields.Datetime(
        required=True, default=fields.Datetime.now, index=True
    )
    lead_id = fields.Many2one(
        "crm.lead",
        ondelete="set null",
        index="btree_not_null",
        check_company=True,
    )
    partner_id = fields.Many2one(
        "res.partner", ondelete="set null", index="btree_not_null"
    )
    origin = fields.Selection(ORIGINS, required=True, default="manual")
    external_id = fields.Char(
        string="External ID",
        help="Identifier given by the sender; replays with the same identifier "
        "are stored once.",
    )
    url = fields.Char(string="URL")
    title = fields.Char()
    referrer = fields.Char()
    source_id = fields.Many2one("utm.source", ondelete="set null")
    medium_id = fields.Many2one("utm.medium", ondelete="set null")
    campaign_id = fields.Many2one("utm.campaign", ondelete="set null")
    is_bot = fields.Boolean(string="Bot", index=True)
    bot_reason = fields.Char()
    payload = fields.Json()
    company_id = fields.Many2one(
        "res.company",
        compute="_compute_company_id",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
        index=True,
    )

    @api.depends("lead_id", "partner_id")
    def _compute_company_id(self):
        for event in self:
            event.company_id = (
                event.lead_id.company_id
                or event.partner_id.company_id
                or event.company_id
                or self.env.company
            )
