# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import engagement_rollup as rollup
from .prm_event import ORIGINS
from .prm_event_type import CHANNELS

_logger = logging.getLogger(__name__)


class PrmEngagementReport(models.Model):
    """Engagement events counted per day, type, source, site, owner, ...

    The figures of the Engagement menu, read from counts kept per day (see
    tools/engagement_rollup.py) instead of from the events themselves: fast
    on millions of events, and a new event counts at once."""

    _name = "prm.engagement.report"
    _description = "PRM Engagement Analysis"
    _auto = False
    _order = "date desc, id desc"
    _rec_name = "event_type_id"
    # what the counts are kept from (flushed before the report is read)
    _depends = {
        "prm.event": [
            "occurred_at",
            "event_type_id",
            "channel",
            "is_bot",
            "company_id",
            "site_id",
            "origin",
            "source_id",
            "medium_id",
            "campaign_id",
            "lead_id",
        ],
        "crm.lead": ["user_id"],
    }

    date = fields.Date(
        string="Day",
        readonly=True,
        help="The day the events happened (days run from midnight UTC).",
    )
    event_type_id = fields.Many2one("prm.event.type", readonly=True)
    channel = fields.Selection(CHANNELS, readonly=True)
    is_bot = fields.Boolean(string="Bot", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    site_id = fields.Many2one("prm.tracking.site", readonly=True)
    origin = fields.Selection(ORIGINS, readonly=True)
    source_id = fields.Many2one("utm.source", readonly=True)
    medium_id = fields.Many2one("utm.medium", readonly=True)
    campaign_id = fields.Many2one("utm.campaign", readonly=True)
    has_lead = fields.Boolean(
        string="On a lead", readonly=True, help="The events are linked to a lead."
    )
    owner_id = fields.Many2one(
        "res.users",
        string="Salesperson",
        readonly=True,
        help="The salesperson of the events' lead (empty: unassigned or no lead).",
    )
    events = fields.Integer(readonly=True, aggregator="sum")

    def init(self):
        if rollup.ENGAGEMENT.ensure(self.env.cr, rollup.create_sql()):
            self._prm_rebuild()

    @property
    def _table_query(self):
        return SQL(rollup.REPORT)

    @api.model
    def _prm_fold(self):
        """Add the pending changes to the counts (the job, every few minutes)."""
        self.env.flush_all()
        done = rollup.ENGAGEMENT.run_fold(self.env.cr)
        self.invalidate_model()
        return done

    @api.model
    def _prm_rebuild(self):
        """Count every event again (the daily job; after loading events with
        the triggers off)."""
        done = rollup.ENGAGEMENT.run_rebuild(
            self.env, rollup.REBUILD, "prm_tracking.ir_cron_prm_engagement_rebuild"
        )
        self.invalidate_model()
        return done
