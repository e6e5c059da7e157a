# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError

METRIC_FIELDS = [
    "prm_event_count",
    "prm_first_seen",
    "prm_last_seen",
    "prm_visits_7d",
    "prm_visits_30d",
    "prm_email_opens",
    "prm_email_clicks",
]


class PrmPersonMixin(models.AbstractModel):
    """Engagement metrics and privacy actions shared by leads and partners.

    The metrics are plain stored fields, written in bulk by the ingestion path
    and the daily refresh (``prm.event._recompute_metrics``), never computed
    on read.
    """

    _name = "prm.person.mixin"
    _description = "PRM Engagement Metrics"

    prm_event_count = fields.Integer(
        string="Engagement Events", readonly=True, copy=False, default=0
    )
    prm_first_seen = fields.Datetime(string="First Seen", readonly=True, copy=False)
    prm_last_seen = fields.Datetime(
        string="Last Seen", readonly=True, copy=False, index="btree_not_null"
    )
    prm_visits_7d = fields.Integer(
        string="Visits (7 days)",
        readonly=True,
        copy=False,
        default=0,
        help="Days with at least one page view in the last 7 days.",
    )
    prm_visits_30d = fields.Integer(
        string="Visits (30 days)",
        readonly=True,
        copy=False,
        default=0,
        help="Days with at least one page view in the last 30 days.",
    )
    prm_email_opens = fields.Integer(
        string="Email Opens", readonly=True, copy=False, default=0
    )
    prm_email_clicks = fields.Integer(
        string="Email Clicks", readonly=True, copy=False, default=0
    )
    prm_do_not_track = fields.Boolean(
        string="Do Not Track",
        copy=False,
        help="Engagement of this person is not recorded (events are dropped).",
    )
    prm_engaged_7d = fields.Boolean(
        compute="_compute_prm_engaged_7d", search="_search_prm_engaged_7d"
    )

    @api.model
    def _prm_metric_fields(self):
        return METRIC_FIELDS

    def _compute_prm_engaged_7d(self):
        since = fields.Datetime.now() - timedelta(days=7)
        for record in self:
            record.prm_engaged_7d = bool(
                record.prm_last_seen and record.prm_last_seen >= since
            )

    def _search_prm_engaged_7d(self, operator, value):
        if operator not in ("=", "!="):
            raise NotImplementedError(operator)
        since = fields.Datetime.now() - timedelta(days=7)
        positive = (operator == "=") == bool(value)
        if positive:
            return [("prm_last_seen", ">=", since)]
        return ["|", ("prm_last_seen", "=", False), ("prm_last_seen", "<", since)]

    def _prm_event_domain(self):
        raise NotImplementedError

    def action_prm_view_events(self):
        """Open the engagement timeline of these records."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prm_tracking.prm_event_action_report"
        )
        action.update(
            {
                "domain": self._prm_event_domain(),
                "view_mode": "list,pivot,graph,form",
                "views": [
                    (False, "list"),
                    (False, "pivot"),
                    (False, "graph"),
                    (False, "form"),
                ],
                "context": {"search_default_humans": 1, "create": False},
            }
        )
        return action

    def _prm_forget(self, leads=None, partners=None):
        if not self.env.user.has_group("prm_tracking.group_prm_manager"):
            raise AccessError(
                self.env._("Only PRM managers can erase a person's engagement.")
            )
        self.check_access("write")
        count = self.env["prm.event"].sudo()._forget(leads=leads, partners=partners)
        for record in self:
            record.message_post(
                body=self.env._(
                    "Engagement history erased (%(count)s events deleted at the "
                    "person's request).",
                    count=count,
                ),
                subtype_xmlid="mail.mt_note",
            )
        return count
