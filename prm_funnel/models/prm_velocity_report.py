# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import api, fields, models
from odoo.tools import SQL

from odoo.addons.prm_tracking.tools.locks import run_unless_superseded, try_lock

_logger = logging.getLogger(__name__)

MONTHS = 24  # months shown, up to the current one
SNAPSHOT = "prm_velocity_snapshot"  # the figures, as of their last refresh

FUNCTION = """
CREATE OR REPLACE FUNCTION prm_velocity_rows(back int)
RETURNS TABLE (id bigint, month date, team_id int, company_id int,
               open_opportunities bigint, pipeline numeric, weighted_pipeline numeric,
               won bigint, lost bigint, won_revenue numeric, win_rate numeric,
               avg_deal numeric, cycle_days numeric, velocity numeric)
LANGUAGE sql STABLE SET jit = off SET search_path FROM CURRENT AS $$
WITH months AS (
    SELECT generate_series(
               date_trunc('month', now() at time zone 'UTC')
                   - $1 * interval '1 month',
               date_trunc('month', now() at time zone 'UTC'),
               interval '1 month') AS month
),
closed AS (
    SELECT l.company_id, l.team_id,
           date_trunc('month', l.date_closed) AS month,
           count(*) FILTER (WHERE l.probability = 100) AS won,
           count(*) FILTER (WHERE l.probability = 0) AS lost,
           COALESCE(sum(l.expected_revenue)
               FILTER (WHERE l.probability = 100), 0) AS won_revenue,
           avg(EXTRACT(EPOCH FROM (l.date_closed - l.create_date))
               / 86400.0) FILTER (WHERE l.probability = 100)
               AS cycle_days
      FROM crm_lead l
     WHERE l.date_closed IS NOT NULL
       AND ((l.active AND l.probability = 100)
            OR (NOT l.active AND l.probability = 0))
       AND l.date_closed >= (SELECT min(month) FROM months)
  GROUP BY 1, 2, 3
),
stays AS MATERIALIZED (
    SELECT h.company_id, h.team_id, h.date_enter, h.date_exit,
           h.expected_revenue, h.value
      FROM prm_stage_history h
      JOIN crm_stage s ON s.id = h.stage_id
      JOIN crm_lead l ON l.id = h.lead_id AND l.type = 'opportunity'
     WHERE NOT COALESCE(s.is_won, false)
),
monthly AS (
    -- a stay is open at the end of a month when it began that month
    -- or before and ended after it: entries minus exits, summed
    -- month after month (moves before the first month shown are
    -- folded into it)
    SELECT company_id, team_id,
           GREATEST(month, (SELECT min(month) FROM months)) AS month,
           sum(n) AS n, sum(revenue) AS revenue, sum(value) AS value
      FROM (
        SELECT company_id, team_id,
               date_trunc('month', date_enter) AS month,
               count(*) AS n, sum(expected_revenue) AS revenue,
               sum(value) AS value
          FROM stays GROUP BY 1, 2, 3
        UNION ALL
        SELECT company_id, team_id, date_trunc('month', date_exit),
               -count(*), -sum(expected_revenue), -sum(value)
          FROM stays WHERE date_exit IS NOT NULL GROUP BY 1, 2, 3
      ) AS moves
  GROUP BY 1, 2, 3
),
pipe AS (
    SELECT * FROM (
        SELECT t.company_id, t.team_id, g.month,
               sum(COALESCE(m.n, 0)) OVER w AS open_opportunities,
               sum(COALESCE(m.revenue, 0)) OVER w AS pipeline,
               sum(COALESCE(m.value, 0)) OVER w AS weighted_pipeline
          FROM (SELECT DISTINCT company_id, team_id FROM monthly) t
    CROSS JOIN months g
     LEFT JOIN monthly m ON m.company_id IS NOT DISTINCT FROM t.company_id
           AND m.team_id IS NOT DISTINCT FROM t.team_id
           AND m.month = g.month
        WINDOW w AS (PARTITION BY t.company_id, t.team_id ORDER BY g.month)
    ) AS running
     WHERE open_opportunities <> 0
),
rows AS (
    SELECT COALESCE(p.company_id, c.company_id) AS company_id,
           COALESCE(p.team_id, c.team_id) AS team_id,
           COALESCE(p.month, c.month) AS month,
           COALESCE(p.open_opportunities, 0) AS open_opportunities,
           COALESCE(p.pipeline, 0) AS pipeline,
           COALESCE(p.weighted_pipeline, 0) AS weighted_pipeline,
           COALESCE(c.won, 0) AS won, COALESCE(c.lost, 0) AS lost,
           COALESCE(c.won_revenue, 0) AS won_revenue, c.cycle_days
      FROM pipe p
 FULL JOIN closed c ON c.company_id IS NOT DISTINCT FROM p.company_id
       AND c.team_id IS NOT DISTINCT FROM p.team_id
       AND c.month = p.month
)
SELECT row_number() OVER (ORDER BY month, company_id, team_id) AS id,
       month::date AS month, team_id, company_id,
       open_opportunities::bigint, pipeline::numeric, weighted_pipeline::numeric,
       won::bigint, lost::bigint, won_revenue::numeric,
       CASE WHEN won + lost > 0
            THEN 100.0 * won / (won + lost) END AS win_rate,
       CASE WHEN won > 0 THEN won_revenue / won END AS avg_deal,
       cycle_days::numeric,
       CASE WHEN won > 0 AND cycle_days > 0
            THEN open_opportunities * (won::numeric / (won + lost))
                 * (won_revenue / won) / cycle_days::numeric
       END AS velocity
  FROM rows
$$
"""


class PrmVelocityReport(models.Model):
    """Pipeline velocity per sales team and month:
    (open opportunities x win rate x average won deal) / average cycle length
    in days, i.e. the revenue the pipeline turns out per day.

    Open opportunities and the weighted pipeline are those at the month's end
    (from the stage history); the win rate, average deal and cycle length come
    from the leads closed during the month.

    The figures are read from a materialized view that a scheduled job
    refreshes every hour (and the list's Refresh button at once): computing
    them reads every stay of every lead, seconds on a million leads, too slow
    to do on each opening of the report."""

    _name = "prm.velocity.report"
    _description = "PRM Pipeline Velocity"
    _auto = False
    _order = "month desc, team_id"
    _rec_name = "team_id"

    month = fields.Date(readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id", readonly=True)
    open_opportunities = fields.Integer(
        readonly=True, help="Opportunities open at the end of the month."
    )
    pipeline = fields.Monetary(
        readonly=True, help="Their expected revenue at the end of the month."
    )
    weighted_pipeline = fields.Monetary(
        readonly=True,
        help="Their expected revenue x P(won | their stage), at the month's end.",
    )
    won = fields.Integer(readonly=True, help="Leads won during the month.")
    lost = fields.Integer(readonly=True, help="Leads lost during the month.")
    won_revenue = fields.Monetary(readonly=True)
    win_rate = fields.Float(
        string="Win rate (%)",
        readonly=True,
        aggregator="avg",
        digits=(5, 1),
        help="Won / (won + lost) among the leads closed in the month.",
    )
    avg_deal = fields.Monetary(
        string="Average won deal", readonly=True, aggregator="avg"
    )
    cycle_days = fields.Float(
        string="Average cycle (days)",
        readonly=True,
        aggregator="avg",
        digits=(16, 1),
        help="From creation to winning, for the leads won in the month.",
    )
    velocity = fields.Monetary(
        string="Velocity (per day)",
        readonly=True,
        help="Open opportunities x win rate x average won deal / average cycle "
        "length: empty in a month without wins.",
    )
    refreshed_at = fields.Datetime(
        string="Figures as of", readonly=True, help="When they were last computed."
    )

    def init(self):
        # the figures come from a function that runs without PostgreSQL's
        # JIT compiler: on 500,000 stays compiling this plan takes longer
        # (about 2 s) than running it, and with the schema it was created in
        # (a restore of pg_dump's output, and PostgreSQL 17's REFRESH, run it
        # with an empty search path); the snapshot is built again on each
        # update of the module (its columns may have changed)
        cr = self.env.cr
        cr.execute(SQL("DROP MATERIALIZED VIEW IF EXISTS %s", SQL.identifier(SNAPSHOT)))
        cr.execute(SQL(FUNCTION))
        cr.execute(
            SQL(
                """
            CREATE MATERIALIZED VIEW %(snapshot)s AS
            SELECT *, now() at time zone 'UTC' AS refreshed_at
              FROM prm_velocity_rows(%(back)s)
                """,
                snapshot=SQL.identifier(SNAPSHOT),
                back=MONTHS - 1,
            )
        )
        # REFRESH ... CONCURRENTLY (reports stay readable) needs a unique index
        cr.execute(
            SQL(
                "CREATE UNIQUE INDEX %s ON %s (id)",
                SQL.identifier(f"{SNAPSHOT}_id_uniq"),
                SQL.identifier(SNAPSHOT),
            )
        )

    @property
    def _table_query(self):
        return SQL("SELECT * FROM %s", SQL.identifier(SNAPSHOT))

    @api.model
    def _prm_refresh(self):
        """Compute the figures again (readers keep the previous ones meanwhile).

        One refresh at a time: a call while another runs, or one that meets
        the figures a concurrent refresh has just stored, leaves those and
        returns False; it never fails the transaction of its caller (the
        daily revaluation, the backfill). A snapshot lost or left empty (a
        failed restore) is built again."""
        cr = self.env.cr
        self.env.flush_all()
        if not try_lock(cr, f"prm:{SNAPSHOT}"):
            return False
        cr.execute(
            "SELECT relispopulated FROM pg_class WHERE relname = %s AND relkind = 'm'",
            [SNAPSHOT],
        )
        row = cr.fetchone()
        if row is None:
            self.init()
        else:
            refresh = SQL(
                "REFRESH MATERIALIZED VIEW CONCURRENTLY %s"
                if row[0]
                else "REFRESH MATERIALIZED VIEW %s",
                SQL.identifier(SNAPSHOT),
            )
            if run_unless_superseded(cr, refresh) is None:
                _logger.info("PRM velocity: a concurrent refresh stored newer figures")
                return False
        self.invalidate_model()
        return True

    @api.model
    def action_prm_refresh(self):
        """Refresh button of the report: the figures as of now."""
        self.check_access("read")
        self.sudo()._prm_refresh()
        return {"type": "ir.actions.client", "tag": "soft_reload"}

    @api.model
    def _cron_prm_refresh(self):
        """Hourly: the figures as of now."""
        self._prm_refresh()
