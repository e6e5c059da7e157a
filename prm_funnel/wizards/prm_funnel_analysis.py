# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import SQL

from odoo.addons.prm_tracking.tools import charts

from ..engine import KINDS, stage_table_of_counts, velocity


class PrmFunnelAnalysis(models.TransientModel):
    """The funnel of a cohort of leads (created in a period, by team,
    salesperson, source, medium, campaign), stage by stage, with its valued
    progression and the pipeline velocity: the exact figures behind the
    printable funnel report and the what-if simulator."""

    _name = "prm.funnel.analysis"
    _inherit = "prm.analysis.mixin"
    _description = "PRM Funnel Analysis"

    def _prm_title(self):
        return self.env._("Funnel analysis")

    source_id = fields.Many2one("utm.source")
    medium_id = fields.Many2one("utm.medium")
    campaign_id = fields.Many2one("utm.campaign")
    line_ids = fields.One2many("prm.funnel.analysis.line", "analysis_id", readonly=True)
    funnel_chart = fields.Json(string="Funnel", compute="_compute_funnel_chart")
    value_line_ids = fields.One2many(
        "prm.funnel.value.line", "analysis_id", readonly=True
    )
    # the cohort
    leads = fields.Integer(string="Leads in the funnel", readonly=True)
    won = fields.Integer(readonly=True)
    end_to_end = fields.Float(string="End-to-end conversion (%)", readonly=True)
    initial_value = fields.Monetary(readonly=True)
    value_added = fields.Monetary(string="Added by progressions", readonly=True)
    value_lost = fields.Monetary(readonly=True)
    won_revenue = fields.Monetary(readonly=True)
    won_over_initial = fields.Float(string="Won / initial value", readonly=True)
    # velocity: leads closed in the period, pipeline open now
    closed_won = fields.Integer(string="Won in the period", readonly=True)
    closed_lost = fields.Integer(string="Lost in the period", readonly=True)
    win_rate = fields.Float(string="Win rate (%)", readonly=True)
    avg_deal = fields.Monetary(string="Average won deal", readonly=True)
    cycle_days = fields.Float(string="Average cycle (days)", readonly=True)
    open_opportunities = fields.Integer(readonly=True)
    pipeline = fields.Monetary(string="Open pipeline", readonly=True)
    weighted_pipeline = fields.Monetary(readonly=True)
    velocity = fields.Monetary(string="Velocity (per day)", readonly=True)
    has_velocity = fields.Boolean(readonly=True)

    @api.depends("line_ids", "won")
    def _compute_funnel_chart(self):
        """Leads reaching each stage, then won: drawn as a funnel."""
        for analysis in self:
            lines = analysis.line_ids.filtered("has_rates").sorted("sequence")
            if not lines:
                analysis.funnel_chart = False
                continue
            analysis.funnel_chart = charts.chart(
                "bar",
                lines.stage_id.mapped("name") + [self.env._("Won")],
                [
                    charts.dataset(
                        self.env._("Leads"), lines.mapped("reached") + [analysis.won]
                    )
                ],
                prmFunnel=True,
            )

    # ------------------------------------------------------------------

    def _stay_filter(self, alias="h"):
        """SQL condition on the first stay of the cohort's leads (created in
        the period, by team, salesperson, source, medium, campaign)."""
        self.ensure_one()
        start, end = self._period()
        conditions = self._lead_conditions(
            alias, ("team_id", "user_id", "source_id", "medium_id", "campaign_id")
        )
        if self._own_leads_only():  # the lead's salesperson now, as crm's rule
            conditions[-1] = SQL(
                "%s IN (SELECT id FROM crm_lead WHERE user_id = %s OR user_id IS NULL)",
                SQL.identifier(alias, "lead_id"),
                self.env.uid,
            )
        conditions += [
            SQL("%s.lead_create_date >= %s", SQL.identifier(alias), start),
            SQL("%s.lead_create_date < %s", SQL.identifier(alias), end),
        ]
        return SQL(" AND ").join(conditions)

    def _lead_filter(self, alias="l"):
        """SQL condition on leads for the velocity figures."""
        self.ensure_one()
        return SQL(" AND ").join(
            self._lead_conditions(
                alias, ("team_id", "user_id", "source_id", "medium_id", "campaign_id")
            )
        )

    def _stages(self):
        Stage = self.env["crm.stage"]
        domain = [("is_won", "=", False)]
        if self.team_id:
            domain += ["|", ("team_id", "=", False), ("team_id", "=", self.team_id.id)]
        return Stage.search(domain, order="sequence, id")

    def action_compute(self):
        """Compute (again) every figure of the analysis."""
        for analysis in self:
            analysis._compute_funnel()
        return self._reopen()

    def _compute_funnel(self):
        self.ensure_one()
        self.env.flush_all()  # the SQL below reads stays and leads
        pipeline = self._stages()  # the leads' furthest stages ranked in it
        per_stage, furthest, per_source = self._funnel_counts(pipeline.ids)
        # the pipeline of this cohort: the open stages its leads were in
        stages = pipeline.filtered(lambda stage: stage.id in per_stage)
        table, summary = stage_table_of_counts(
            stages.ids,
            per_stage,
            furthest,
            ranks={stage: rank for rank, stage in enumerate(pipeline.ids)},
            top=len(pipeline),
        )
        self.line_ids.unlink()
        self.value_line_ids.unlink()
        self.env["prm.funnel.analysis.line"].create(
            [
                {
                    "analysis_id": self.id,
                    "sequence": i,
                    "stage_id": row.stage,
                    "entered": row.entered,
                    "reached": row.reached,
                    "advanced": row.advanced,
                    "regressed": row.regressed,
                    "won": row.won,
                    "lost": row.lost,
                    "still_open": row.open,
                    "has_rates": row.conversion_next is not None,
                    "conversion_next": 100.0 * (row.conversion_next or 0.0),
                    "conversion_won": 100.0 * (row.conversion_won or 0.0),
                    "drop_off": 100.0 * (row.drop_off or 0.0),
                    "median_days": row.median_days or 0.0,
                    "mean_days": row.mean_days or 0.0,
                }
                for i, row in enumerate(table)
            ]
        )
        # valued progression, per source
        lines = []
        for source, acc in per_source.items():
            ratio = (
                acc["won_revenue"] / acc["initial_value"] if acc["initial_value"] else 0
            )
            lines.append(
                dict(
                    acc,
                    analysis_id=self.id,
                    name=source or self.env._("(no source)"),
                    leads=int(acc["leads"]),
                    won_over_initial=ratio,
                    has_ratio=bool(acc["initial_value"]),
                )
            )
        self.env["prm.funnel.value.line"].create(lines)
        totals = defaultdict(float)
        for line in lines:
            for key in ("initial_value", "value_added", "value_lost", "won_revenue"):
                totals[key] += line.get(key, 0.0)
        self.write(
            {
                "computed": True,
                "leads": summary["first"],
                "won": summary["won"],
                "end_to_end": 100.0 * (summary["end_to_end"] or 0.0),
                "initial_value": totals["initial_value"],
                "value_added": totals["value_added"],
                "value_lost": totals["value_lost"],
                "won_revenue": totals["won_revenue"],
                "won_over_initial": (
                    totals["won_revenue"] / totals["initial_value"]
                    if totals["initial_value"]
                    else 0.0
                ),
                **self._velocity(),
            }
        )

    def _funnel_counts(self, pipeline):
        """(per stage, furthest, per source) of the cohort's stays, counted
        in the database as :func:`~..engine.stage_counts` counts them (per
        stage and furthest rank in ``pipeline``, stage ids in order) and the
        valued progression per source as the Valued Progression report."""
        self.env.cr.execute(
            SQL(
                """
            WITH cohort AS (
                SELECT DISTINCT h.lead_ref
                  FROM prm_stage_history h
                 WHERE h.is_initial AND %(filter)s
            ),
            stays AS MATERIALIZED (
                SELECT h.lead_ref, h.stage_id, h.duration_days, h.is_initial,
                       COALESCE(h.value, 0) AS value,
                       COALESCE(h.value_delta, 0) AS delta,
                       COALESCE(h.expected_revenue, 0) AS revenue,
                       h.exit_kind, COALESCE(s.is_won, false) AS is_won,
                       CASE WHEN h.exit_kind IN %(kinds)s THEN h.exit_kind
                            ELSE 'open' END AS kind,
                       CASE WHEN s.is_won THEN %(top)s
                            ELSE array_position(%(pipeline)s::int[], h.stage_id) - 1
                       END AS rank,
                       COALESCE(src.name, '') AS source
                  FROM prm_stage_history h
                  JOIN cohort c ON c.lead_ref = h.lead_ref
                  JOIN crm_stage s ON s.id = h.stage_id
             LEFT JOIN utm_source src ON src.id = h.source_id
            ),
            per_stage AS (
                SELECT stage_id, count(*) AS entered,
                       count(DISTINCT lead_ref) AS leads,
                       count(*) FILTER (WHERE kind = 'advanced') AS advanced,
                       count(*) FILTER (WHERE kind = 'regressed') AS regressed,
                       count(*) FILTER (WHERE kind = 'won') AS won,
                       count(*) FILTER (WHERE kind = 'lost') AS lost,
                       count(*) FILTER (WHERE kind = 'merged') AS merged,
                       count(*) FILTER (WHERE kind = 'open') AS open,
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_days)
                           FILTER (WHERE kind <> 'open') AS median_days,
                       avg(duration_days) FILTER (WHERE kind <> 'open') AS mean_days
                  FROM stays
                 WHERE rank IS NOT NULL AND NOT is_won
              GROUP BY stage_id
            ),
            per_lead AS (
                SELECT max(rank) AS rank, bool_or(is_won) AS won
                  FROM stays
                 WHERE rank IS NOT NULL
              GROUP BY lead_ref
            ),
            per_source AS (
                SELECT source,
                       count(*) FILTER (WHERE is_initial) AS leads,
                       COALESCE(sum(value) FILTER (WHERE is_initial), 0)
                           AS initial_value,
                       COALESCE(sum(delta) FILTER (
                           WHERE NOT is_initial AND delta > 0), 0) AS value_added,
                       COALESCE(sum(-delta) FILTER (
                           WHERE NOT is_initial AND delta <= 0), 0)
                       + COALESCE(sum(value) FILTER (
                           WHERE exit_kind IN ('lost', 'merged')), 0) AS value_lost,
                       COALESCE(sum(revenue) FILTER (
                           WHERE is_won AND exit_kind = 'open'), 0) AS won_revenue
                  FROM stays
              GROUP BY source
            )
            SELECT (SELECT json_agg(per_stage) FROM per_stage),
                   (SELECT json_agg(f) FROM (
                        SELECT rank, won, count(*) AS leads
                          FROM per_lead GROUP BY rank, won) AS f),
                   (SELECT json_agg(per_source) FROM per_source)
                """,
                filter=self._stay_filter(),
                kinds=KINDS,
                top=len(pipeline),
                pipeline=pipeline,
            )
        )
        stage_rows, lead_rows, source_rows = self.env.cr.fetchone()
        per_stage = {row.pop("stage_id"): row for row in stage_rows or ()}
        furthest = {(row["rank"], row["won"]): row["leads"] for row in lead_rows or ()}
        per_source = {row.pop("source"): row for row in source_rows or ()}
        return per_stage, furthest, per_source

    def _velocity(self):
        """Velocity figures: leads closed in the period, pipeline open now."""
        start, end = self._period()
        self.env["crm.lead"].flush_model()
        self.env.cr.execute(
            SQL(
                """
            SELECT count(*) FILTER (WHERE l.active AND l.probability = 100),
                   count(*) FILTER (WHERE NOT l.active AND l.probability = 0),
                   COALESCE(sum(l.expected_revenue)
                       FILTER (WHERE l.active AND l.probability = 100), 0),
                   avg(EXTRACT(EPOCH FROM (l.date_closed - l.create_date)) / 86400.0)
                       FILTER (WHERE l.active AND l.probability = 100)
              FROM crm_lead l
             WHERE l.date_closed >= %s AND l.date_closed < %s AND %s
                """,
                start,
                end,
                self._lead_filter(),
            )
        )
        won, lost, won_revenue, cycle = self.env.cr.fetchone()
        self.env.cr.execute(
            SQL(
                """
            SELECT count(DISTINCT l.id), COALESCE(sum(l.expected_revenue), 0),
                   COALESCE(sum(h.value), 0)
              FROM crm_lead l
              JOIN crm_stage s ON s.id = l.stage_id AND NOT COALESCE(s.is_won, false)
         LEFT JOIN prm_stage_history h ON h.lead_id = l.id AND h.exit_kind = 'open'
             WHERE l.active AND l.type = 'opportunity' AND %s
                """,
                self._lead_filter(),
            )
        )
        open_count, pipeline, weighted = self.env.cr.fetchone()
        win_rate = won / (won + lost) if won + lost else 0.0
        avg_deal = float(won_revenue) / won if won else 0.0
        speed = velocity(open_count, win_rate, avg_deal, float(cycle or 0))
        return {
            "closed_won": won,
            "closed_lost": lost,
            "win_rate": 100.0 * win_rate,
            "avg_deal": avg_deal,
            "cycle_days": float(cycle or 0.0),
            "open_opportunities": open_count,
            "pipeline": float(pipeline),
            "weighted_pipeline": float(weighted),
            "velocity": speed or 0.0,
            "has_velocity": speed is not None,
        }

    # ------------------------------------------------------------------

    def action_print(self):
        """The printable funnel report (PDF)."""
        self.ensure_one()
        if not self.computed:
            self._compute_funnel()
        return self.env.ref("prm_funnel.action_report_prm_funnel").report_action(self)

    def action_what_if(self):
        """Open the what-if simulator on this funnel."""
        self.ensure_one()
        if not self.computed:
            self._compute_funnel()
        whatif = self.env["prm.funnel.whatif"].create({"analysis_id": self.id})
        return {
            "type": "ir.actions.act_window",
            "res_model": "prm.funnel.whatif",
            "res_id": whatif.id,
            "view_mode": "form",
            "target": "new",
            "name": self.env._("What if every stage converted better?"),
        }

    @api.model
    def action_open(self):
        """Menu entry: a computed analysis of the last twelve months."""
        analysis = self.create({})
        analysis._compute_funnel()
        return analysis._reopen()
