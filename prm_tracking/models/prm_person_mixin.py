# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL, sql

from ..tools.indexes import email_index_name

METRIC_FIELDS = [
    "prm_event_count",
    "prm_first_seen",
    "prm_last_seen",
    "prm_visits_7d",
    "prm_visits_30d",
    "prm_email_opens",
    "prm_email_clicks",
    "prm_first_site_id",
    "prm_first_referrer_domain",
]
BACKFILL_BATCH = 50000  # persons per UPDATE when every person's metrics are redone


class PrmPersonMixin(models.AbstractModel):
    """Engagement metrics and privacy actions shared by leads and partners.

    The metrics are plain stored fields, written in bulk by
    :meth:`_prm_recompute_metrics` (called by the person queue's job, the
    daily refresh and the ORM hooks of events), never computed on read.
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
    # first touch: what the source quality report groups by, kept here so
    # that it never has to look for each lead's first event among millions
    prm_first_site_id = fields.Many2one(
        "prm.tracking.site",
        string="First Site",
        readonly=True,
        copy=False,
        ondelete="set null",
        help="Site of the first engagement event.",
    )
    prm_first_referrer_domain = fields.Char(
        string="First Referrer",
        readonly=True,
        copy=False,
        help="Referrer (its domain) of the first engagement event.",
    )
    prm_do_not_track = fields.Boolean(
        string="Do Not Track",
        copy=False,
        help="Engagement of this person is not recorded (events are dropped).",
    )
    prm_engaged_7d = fields.Boolean(
        compute="_compute_prm_engaged_7d", search="_search_prm_engaged_7d"
    )

    def init(self):
        res = super().init()
        # Ingestion finds persons by normalized email (= ANY of a batch's
        # addresses). Odoo indexes crm_lead.email_normalized with a trigram
        # index only (res_partner's not at all), which PostgreSQL uses for
        # equality too: 4.8 s for 300 addresses on 20,000 leads, growing with
        # the table; a b-tree answers in milliseconds at any size.
        if not self._abstract and "email_normalized" in self._fields:
            sql.create_index(
                self.env.cr,
                email_index_name(self._table),
                self._table,
                ["email_normalized"],
                where="email_normalized IS NOT NULL",
            )
        return res

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

    @api.model
    def _prm_event_column(self):
        """The ``prm_event`` column that points at records of this model."""
        raise NotImplementedError

    @api.model
    def _prm_metric_type_ids(self):
        codes = ("page_view", "email_open", "email_click")
        types = self.env["prm.event.type"].sudo().with_context(active_test=False)
        found = {t.code: t.id for t in types.search([("code", "in", codes)])}
        return [found.get(code, 0) for code in codes]

    def _prm_recompute_metrics(self, now=None):
        """Recompute the engagement metrics of these records in one UPDATE from
        their (non-bot) events, rows locked in id order so that concurrent
        callers never deadlock.  A *visit* is a day with at least one page
        view."""
        ids = sorted({i for i in self.ids if i})
        if not ids:
            return
        now = now or fields.Datetime.now()
        page_view, email_open, email_click = self._prm_metric_type_ids()
        self.env.flush_all()
        table = SQL.identifier(self._table)
        self.env.cr.execute(
            SQL(
                "SELECT id FROM %s WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
                table,
                ids,
            )
        )
        self.env.cr.execute(
            SQL(
                """
            UPDATE %(table)s AS p
               SET prm_event_count = a.cnt,
                   prm_first_seen = a.first_seen,
                   prm_last_seen = a.last_seen,
                   prm_visits_7d = a.visits_7d,
                   prm_visits_30d = a.visits_30d,
                   prm_email_opens = a.opens,
                   prm_email_clicks = a.clicks,
                   prm_first_site_id = a.first_site,
                   prm_first_referrer_domain = a.first_referrer
              FROM (
                SELECT t.id,
                       -- the first event's site and referrer domain: sorted
                       -- among the person's own events (a LIMIT 1 subquery
                       -- may walk the whole time index instead)
                       (array_agg(e.site_id ORDER BY e.occurred_at, e.id))[1]
                           AS first_site,
                       NULLIF(regexp_replace(lower(substring(
                              (array_agg(e.referrer ORDER BY e.occurred_at, e.id))[1]
                              FROM '^[a-zA-Z][a-zA-Z0-9+.-]*://([^/:?#]+)')),
                              '^www\\.', ''), '') AS first_referrer,
                       count(e.id) AS cnt,
                       min(e.occurred_at) AS first_seen,
                       max(e.occurred_at) AS last_seen,
                       count(DISTINCT date_trunc('day', e.occurred_at)) FILTER (
                           WHERE e.event_type_id = %(page_view)s
                             AND e.occurred_at >= %(d7)s) AS visits_7d,
                       count(DISTINCT date_trunc('day', e.occurred_at)) FILTER (
                           WHERE e.event_type_id = %(page_view)s
                             AND e.occurred_at >= %(d30)s) AS visits_30d,
                       count(e.id) FILTER (
                           WHERE e.event_type_id = %(email_open)s) AS opens,
                       count(e.id) FILTER (
                           WHERE e.event_type_id = %(email_click)s) AS clicks
                  FROM unnest(%(ids)s::int[]) AS t(id)
             LEFT JOIN prm_event e ON e.%(column)s = t.id AND e.is_bot IS NOT TRUE
              GROUP BY t.id
              ) AS a
             WHERE p.id = a.id
               AND (p.prm_event_count, p.prm_first_seen, p.prm_last_seen,
                    p.prm_visits_7d, p.prm_visits_30d, p.prm_email_opens,
                    p.prm_email_clicks, p.prm_first_site_id,
                    p.prm_first_referrer_domain)
                   IS DISTINCT FROM (a.cnt, a.first_seen, a.last_seen, a.visits_7d,
                                     a.visits_30d, a.opens, a.clicks, a.first_site,
                                     a.first_referrer)
                """,
                table=table,
                column=SQL.identifier(self._prm_event_column()),
                page_view=page_view,
                email_open=email_open,
                email_click=email_click,
                d7=now - timedelta(days=7),
                d30=now - timedelta(days=30),
                ids=ids,
            )
        )
        self.invalidate_model(METRIC_FIELDS)

    @api.model
    def _prm_recompute_all_metrics(self, batch_size=BACKFILL_BATCH):
        """Recompute the metrics of every person with events, in batches (an
        upgrade that adds a metric fills it in with this)."""
        column = SQL.identifier(self._prm_event_column())
        last_id = 0
        while True:
            self.env.cr.execute(
                SQL(
                    "SELECT DISTINCT %(column)s FROM prm_event "
                    "WHERE %(column)s > %(last)s ORDER BY %(column)s LIMIT %(size)s",
                    column=column,
                    last=last_id,
                    size=batch_size,
                )
            )
            ids = [row[0] for row in self.env.cr.fetchall()]
            if not ids:
                return
            self.browse(ids)._prm_recompute_metrics()
            last_id = ids[-1]

    @api.readonly
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
        count = self.env["prm.retention"].sudo()._forget(leads=leads, partners=partners)
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
