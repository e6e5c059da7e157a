# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.tools import SQL

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
# the channels anyone can reach with a page's public key: their event ids live
# in a namespace of their own, and they never name a person without proof
PUBLIC_ORIGINS = ("browser", "pixel")
# event fields the persons' metrics (first touch included) and scores are
# computed from
METRIC_INPUTS = {
    "lead_id",
    "partner_id",
    "occurred_at",
    "is_bot",
    "event_type_id",
    "site_id",
    "referrer",
}


class PrmEvent(models.Model):
    """One thing a prospect did: a page view, an email open, a call, ..."""

    _name = "prm.event"
    _description = "PRM Engagement Event"
    _order = "occurred_at desc, id desc"
    _rec_name = "event_type_id"
    _check_company_auto = True

    # indexes: only those a query uses (each one slows ingestion down)
    event_type_id = fields.Many2one(
        "prm.event.type", required=True, ondelete="restrict"
    )
    event_code = fields.Char(related="event_type_id.code", string="Event Code")
    channel = fields.Selection(
        related="event_type_id.channel", store=True, precompute=True
    )
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
    visitor_id = fields.Many2one(
        "prm.visitor", ondelete="set null", index="btree_not_null", readonly=True
    )
    site_id = fields.Many2one(  # indexed by prm_event_site_channel_external_uniq
        "prm.tracking.site", ondelete="set null", readonly=True
    )
    origin = fields.Selection(
        ORIGINS, required=True, default=lambda self: self._default_origin()
    )
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
    is_bot = fields.Boolean(string="Bot", default=False)
    bot_reason = fields.Char()
    payload = fields.Json()
    company_id = fields.Many2one(
        "res.company",
        compute="_compute_company_id",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
    )

    def init(self):
        # the idempotency keys: an event id is unique per site and channel
        # (the secret API and the public channels each have their own ids),
        # and per origin for events without a site (Odoo's apps, imports)
        self.env.cr.execute(
            SQL(
                """
            DROP INDEX IF EXISTS prm_event_site_external_uniq;
            CREATE UNIQUE INDEX IF NOT EXISTS prm_event_site_channel_external_uniq
                ON prm_event (site_id, (origin IN %(public)s), external_id);
            CREATE UNIQUE INDEX IF NOT EXISTS prm_event_origin_external_uniq
                ON prm_event (origin, external_id)
             WHERE site_id IS NULL AND external_id IS NOT NULL
                """,
                public=PUBLIC_ORIGINS,
            )
        )

    def _default_origin(self):
        return "import" if self.env.context.get("import_file") else "manual"

    @api.depends("lead_id", "partner_id", "site_id")
    def _compute_company_id(self):
        for event in self:
            event.company_id = (
                event.lead_id.company_id
                or event.site_id.company_id
                or event.partner_id.company_id
                or event.company_id
                or self.env.company
            )

    # ------------------------------------------------------------------
    # ORM: keep the persons' metrics true whatever path writes events
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        events = super().create(vals_list)
        events._refresh_person_metrics()
        return events

    def write(self, vals):
        if not METRIC_INPUTS & set(vals):  # e.g. a URL corrected by a manager
            return super().write(vals)
        before = self._persons()
        res = super().write(vals)
        self._refresh_person_metrics(extra=before)
        return res

    def unlink(self):
        before = self._persons()
        res = super().unlink()
        self.browse()._refresh_person_metrics(extra=before)
        return res

    def _persons(self):
        """(lead ids, partner ids) these events are on."""
        self.flush_recordset(["lead_id", "partner_id"])
        return (set(self.lead_id.ids), set(self.partner_id.ids))

    def _refresh_person_metrics(self, extra=None):
        leads, partners = self._persons() if self else (set(), set())
        if extra:
            leads |= extra[0]
            partners |= extra[1]
        self._recompute_metrics(leads, partners)

    @api.model
    def _recompute_metrics(self, lead_ids=(), partner_ids=(), now=None):
        """Recompute the engagement metrics of these leads and partners (the
        one hook every path that changes events of a person ends in)."""
        self.env["crm.lead"].browse(
            sorted({i for i in lead_ids if i})
        )._prm_recompute_metrics(now=now)
        self.env["res.partner"].browse(
            sorted({i for i in partner_ids if i})
        )._prm_recompute_metrics(now=now)
