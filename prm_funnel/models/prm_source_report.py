# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.tools import SQL

from odoo.addons.prm_tracking.tools.schema import create_new

from ..tools import lead_facts, source_facts
from ..tools.source_facts import COLUMNS


class PrmSourceReport(models.Model):
    """Source quality, one row per lead: what became of the leads each UTM
    source, medium, campaign, tracking site or referrer brought.

    Rates are averages of 0/100 flags, so any grouping of the pivot gives the
    right share; the confidence intervals and verdicts of the Source Quality
    analysis are computed from the same rows."""

    _name = "prm.source.report"
    _description = "PRM Source Quality"
    _auto = False
    _order = "create_date desc"
    _rec_name = "lead_id"
    # the leads' columns are copied by triggers on their flush (the narrow
    # table of tools/source_facts.py), the value added per lead kept by
    # triggers on the stays', the lead's qualification facts by triggers on
    # its moves' (prm_scoring)
    _depends = {
        "crm.lead": list(COLUMNS),
        "prm.stage.history": ["lead_id", "value_delta", "is_initial"],
        "prm.qualification.entry": ["lead_id", "to_state", "date"],
    }

    lead_id = fields.Many2one("crm.lead", readonly=True)
    create_date = fields.Datetime(string="Created on", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    source_id = fields.Many2one("utm.source", readonly=True)
    medium_id = fields.Many2one("utm.medium", readonly=True)
    campaign_id = fields.Many2one("utm.campaign", readonly=True)
    site_id = fields.Many2one(
        "prm.tracking.site",
        string="Tracking Site",
        readonly=True,
        help="Site of the lead's first engagement event (bots not counted).",
    )
    referrer_domain = fields.Char(
        readonly=True,
        help="Referrer of the lead's first engagement event (bots not counted).",
    )
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id", readonly=True)
    leads = fields.Integer(readonly=True)
    qualified = fields.Integer(
        readonly=True, help="Sent to qualified by a qualification rule, or won."
    )
    accepted = fields.Integer(readonly=True, help="Accepted by sales.")
    won = fields.Integer(readonly=True)
    lost = fields.Integer(readonly=True)
    engaged = fields.Integer(
        string="Engaged (30 days)", readonly=True, help="Seen in the last 30 days."
    )
    qualified_rate = fields.Float(
        string="Qualified (%)", readonly=True, aggregator="avg"
    )
    accepted_rate = fields.Float(string="Accepted (%)", readonly=True, aggregator="avg")
    won_rate = fields.Float(
        string="Conversion (%)", readonly=True, aggregator="avg", help="Won leads."
    )
    lost_rate = fields.Float(string="Lost (%)", readonly=True, aggregator="avg")
    engaged_rate = fields.Float(
        string="Engaged in 30 days (%)", readonly=True, aggregator="avg"
    )
    first_fit = fields.Float(
        string="Fit at creation", readonly=True, aggregator="avg", digits=(5, 1)
    )
    first_score = fields.Float(
        string="Score at creation", readonly=True, aggregator="avg", digits=(5, 1)
    )
    fit = fields.Float(string="Fit now", readonly=True, aggregator="avg", digits=(5, 1))
    score = fields.Float(
        string="Score now", readonly=True, aggregator="avg", digits=(5, 1)
    )
    days_to_qualify = fields.Float(
        readonly=True, aggregator="avg", digits=(16, 1), help="Mean, qualified leads."
    )
    days_to_win = fields.Float(
        readonly=True, aggregator="avg", digits=(16, 1), help="Mean, won leads."
    )
    won_revenue = fields.Monetary(readonly=True)
    value_added = fields.Monetary(
        string="Value added by progressions",
        readonly=True,
        help="Rises of the lead's value (expected revenue x P(won | stage)) "
        "as it moved through the stages.",
    )

    @property
    def _table_query(self):
        return self._lead_rows()

    @api.model
    def _lead_rows(self, value_added=True):
        """The report's rows; without the value added (and its join) for the
        Source Quality analysis, which sums it from the value rows alone."""
        value, join = SQL(), SQL()
        if value_added:
            value = SQL(", COALESCE(v.value_added, 0) AS value_added")
            join = SQL(
                "LEFT JOIN %s v ON v.lead_id = l.lead_id",
                SQL.identifier(lead_facts.VALUE_TABLE),
            )
        return SQL(
            """
            SELECT l.lead_id AS id, l.lead_id, l.create_date, l.user_id, l.team_id,
                   l.source_id, l.medium_id, l.campaign_id,
                   l.prm_first_site_id AS site_id,
                   l.prm_first_referrer_domain AS referrer_domain,
                   l.company_id, 1 AS leads,
                   (l.prm_qualified_on IS NOT NULL OR w.won)::int AS qualified,
                   l.prm_accepted::int AS accepted, w.won::int AS won,
                   w.lost::int AS lost,
                   ((l.prm_last_seen >= (now() at time zone 'UTC') - interval '30 days')
                       IS TRUE)::int AS engaged,
                   CASE WHEN l.prm_qualified_on IS NOT NULL OR w.won
                        THEN 100.0 ELSE 0 END AS qualified_rate,
                   CASE WHEN l.prm_accepted THEN 100.0 ELSE 0 END AS accepted_rate,
                   CASE WHEN w.won THEN 100.0 ELSE 0 END AS won_rate,
                   CASE WHEN w.lost THEN 100.0 ELSE 0 END AS lost_rate,
                   CASE WHEN l.prm_last_seen
                             >= (now() at time zone 'UTC') - interval '30 days'
                        THEN 100.0 ELSE 0 END AS engaged_rate,
                   l.prm_first_fit_score AS first_fit, l.prm_first_score AS first_score,
                   l.prm_fit_score AS fit, l.prm_score AS score,
                   date_part('epoch', COALESCE(l.prm_qualified_on,
                           CASE WHEN w.won THEN l.date_closed END) - l.create_date)
                       / 86400 AS days_to_qualify,
                   CASE WHEN w.won
                        THEN date_part('epoch', l.date_closed - l.create_date)
                             / 86400 END AS days_to_win,
                   CASE WHEN w.won THEN l.expected_revenue ELSE 0 END AS won_revenue
                   %(value)s
              FROM %(leads)s l
        CROSS JOIN LATERAL (
                SELECT l.active AND l.probability = 100 AS won,
                       NOT l.active AND l.probability = 0 AS lost
              ) w
                   %(join)s
            """,
            value=value,
            leads=SQL.identifier(source_facts.TABLE),
            join=join,
        )

    def init(self):
        self.env.cr.execute(source_facts.stale_sql())
        if self.env.cr.fetchone()[0]:  # made for other columns: made again
            self.env.cr.execute(source_facts.DROP)
        if create_new(self.env.cr, source_facts.TABLE, source_facts.create_sql()):
            self._prm_sync_facts()

    @api.model
    def _prm_sync_facts(self):
        """The leads' copied columns compared with the leads again (the
        triggers keep them otherwise)."""
        self.env["crm.lead"].flush_model(list(COLUMNS))
        self.env.cr.execute(source_facts.sync_sql())
