# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
from datetime import timedelta

from psycopg2 import errors

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import engagement_rollup as rollup
from ..tools.locks import run_unless_superseded, try_lock
from ..tools.schema import create_new
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
        if create_new(self.env.cr, rollup.ROLLUP, rollup.create_sql()):
            self._prm_rebuild()

    @property
    def _table_query(self):
        return SQL(rollup.REPORT)

    @api.model
    def _prm_locked(self, statement):
        """Run `statement` under the rollup's lock; its rows, or None when
        another fold or rebuild holds the lock or has just stored newer
        counts (the next run does the work)."""
        cr = self.env.cr
        self.env.flush_all()
        if not try_lock(cr, rollup.LOCK):
            return None
        # our snapshot may predate a fold or rebuild that committed just
        # before we took the lock
        rows = run_unless_superseded(
            cr, statement, (errors.SerializationFailure, errors.UniqueViolation)
        )
        if rows is None:
            _logger.info("PRM engagement: a concurrent fold stored newer counts")
            return None
        self.invalidate_model()
        return rows

    @api.model
    def _prm_fold(self):
        """Add the pending changes to the counts (the job, every few minutes)."""
        rows = self._prm_locked(rollup.FOLD)
        if rows is None:
            return False
        emptied = [row_id for row_id, events in rows if not events]
        if emptied:
            self.env.cr.execute(
                SQL(
                    "DELETE FROM %s WHERE id IN %s",
                    SQL.identifier(rollup.ROLLUP),
                    tuple(emptied),
                )
            )
        return True

    @api.model
    def _prm_rebuild(self):
        """Count every event again (the daily job; after loading events with
        the triggers off). Met by a fold, it is tried again a minute later
        rather than the next day."""
        if self._prm_locked(rollup.REBUILD) is not None:
            return True
        _logger.info("PRM engagement: counting again in a minute (a fold ran)")
        cron = self.env.ref(
            "prm_tracking.ir_cron_prm_engagement_rebuild", raise_if_not_found=False
        )
        if cron:  # not during the install, before the jobs are loaded
            cron._trigger(fields.Datetime.now() + timedelta(minutes=1))
        return False
