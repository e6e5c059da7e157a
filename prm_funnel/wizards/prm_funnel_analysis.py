# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import SQL

from odoo.addons.prm_tracking.tools import charts
from odoo.addons.prm_tracking.tools.planner import without_jit

from ..engine import cohort_counts, split_weeks, stage_table_of_counts, velocity
from ..tools import cohort_rollup, pipeline_rollup


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

    def _cohort_filter(self, alias="r"):
        """SQL condition on the cohort columns of the cohort sums
        (``tools/cohort_rollup.py``): the first stay's team, salesperson,
        source, medium and campaign, the company, and for a salesperson the
        leads that are theirs or nobody's now, as crm's rule."""
        self.ensure_one()
        conditions = self._lead_conditions(
            alias, ("team_id", "user_id", "source_id", "medium_id", "campaign_id")
        )
        if self._own_leads_only():
            owner = SQL.identifier(alias, "owner_id")
            conditions[-1] = SQL(
                "%s AND (%s = %s OR %s IS NULL)",
                SQL.identifier(alias, "has_lead"),
                owner,
                self.env.uid,
                owner,
            )
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
        """(per stage, furthest, per source) of the cohort's stays, as
        :func:`~..engine.stage_counts` counts them (per stage and furthest
        rank in ``pipeline``, stage ids in order) and the valued progression
        per source as the Valued Progression report: from the cohort sums
        for the whole weeks of the period, from the stays for the rest."""
        self.env.flush_all()  # the SQL below reads stays and leads
        won = self.env["crm.stage"].search([("is_won", "=", True)])
        ranges, weeks = split_weeks(*self._period())
        with without_jit(self.env.cr):
            self.env.cr.execute(
                cohort_rollup.figures(ranges, weeks, self._cohort_filter())
            )
            rows = self.env.cr.dictfetchall()
        per_stage, furthest, sums = cohort_counts(rows, pipeline, set(won.ids))
        sources = self.env["utm.source"].browse([i for i in sums if i]).exists()
        names = {source.id: source.name for source in sources}
        per_source = {}  # per name, as the report groups them
        for source_id, acc in sums.items():
            merged = per_source.setdefault(
                names.get(source_id) or "", dict.fromkeys(acc, 0.0)
            )
            for key, value in acc.items():
                merged[key] += value
        return per_stage, furthest, per_source

    def _velocity(self):
        """Velocity figures: leads closed in the period, pipeline open now
        (sums kept per week and combination, tools/pipeline_rollup.py)."""
        self.env.flush_all()
        ranges, weeks = split_weeks(*self._period())
        self.env.cr.execute(
            pipeline_rollup.figures(ranges, weeks, self._lead_filter("r"))
        )
        sums = {kind: row for kind, *row in self.env.cr.fetchall()}
        won, won_revenue, cycle_sum, _value = sums.get("won", (0, 0, 0, 0))
        lost = sums.get("lost", (0,))[0]
        open_count, pipeline, _cycle, weighted = sums.get("open", (0, 0, 0, 0))
        cycle = cycle_sum / won if won else None
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
