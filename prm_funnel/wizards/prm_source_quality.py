# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from odoo.addons.prm_tracking.tools import charts
from odoo.addons.prm_tracking.tools.planner import without_jit

from ..engine import (
    cost_metrics,
    months_between,
    prorate,
    verdict,
    wilson_interval,
)
from ..tools import lead_facts

DIMENSIONS = [
    ("source_id", "Source"),
    ("medium_id", "Medium"),
    ("campaign_id", "Campaign"),
    ("site_id", "Tracking site"),
    ("referrer_domain", "Referrer"),
]
COMODELS = {
    "source_id": "utm.source",
    "medium_id": "utm.medium",
    "campaign_id": "utm.campaign",
    "site_id": "prm.tracking.site",
}
MIN_SAMPLE_PARAM = "prm_funnel.min_sample"
DEFAULT_MIN_SAMPLE = 30


class PrmSourceQuality(models.TransientModel):
    """Which acquisition sources bring better or worse prospects, with the
    confidence the numbers deserve, and what each one costs and returns."""

    _name = "prm.source.quality"
    _inherit = ["prm.analysis.mixin", "prm.conversion.mixin"]
    _description = "PRM Source Quality"

    def _prm_title(self):
        return self.env._("Source quality")

    dimension = fields.Selection(DIMENSIONS, required=True, default="source_id")
    min_sample = fields.Integer(
        string="Minimum leads",
        required=True,
        default=lambda self: int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param(MIN_SAMPLE_PARAM, DEFAULT_MIN_SAMPLE)
        ),
        help="Below this many leads a conversion rate is 'not enough data'.",
    )
    line_ids = fields.One2many("prm.source.quality.line", "analysis_id", readonly=True)
    conversion_chart = fields.Json(
        string="Conversion by source", compute="_compute_charts"
    )
    cac_chart = fields.Json(string="Cost per customer", compute="_compute_charts")
    show_costs = fields.Boolean(
        readonly=True,
        help="Costs are shown to those who may read them, per company: not "
        "with a team or salesperson filter, nor by site or referrer.",
    )
    leads = fields.Integer(readonly=True)
    won = fields.Integer(readonly=True)

    cost = fields.Monetary(string="Total cost", readonly=True)
    won_revenue = fields.Monetary(readonly=True)
    cac = fields.Monetary(string="CAC", readonly=True)
    roi = fields.Float(string="ROI (%)", readonly=True)
    has_cac = fields.Boolean(readonly=True)
    has_roi = fields.Boolean(readonly=True)

    @api.depends("line_ids")
    def _compute_charts(self):
        """Conversion of each source with its 95% interval (rows with enough
        data), and what each won customer cost (rows with costs)."""
        for analysis in self:
            lines = analysis.line_ids.filtered("enough_data").sorted("rank")
            analysis.conversion_chart = False
            analysis.cac_chart = False
            if lines:
                analysis.conversion_chart = charts.chart(
                    "bar",
                    lines.mapped("name"),
                    [
                        charts.dataset(
                            self.env._("Conversion"),
                            [line.conversion / 100.0 for line in lines],
                            kind="line",
                            showLine=False,
                            pointRadius=6,
                            borderColor="#017e84",
                            backgroundColor="#017e84",
                        ),
                        charts.dataset(
                            self.env._("95% interval"),
                            [
                                [
                                    line.conversion_low / 100.0,
                                    line.conversion_high / 100.0,
                                ]
                                for line in lines
                            ],
                            borderColor="#8fd3d6",
                            backgroundColor="#8fd3d6",
                            barPercentage=0.3,
                        ),
                    ],
                    y_title=self.env._("Won / leads"),
                    percent=True,
                    legend=True,
                )
            paid = analysis.line_ids.filtered("has_cac").sorted("rank")
            if paid:
                analysis.cac_chart = charts.chart(
                    "bar",
                    paid.mapped("name"),
                    [
                        charts.dataset(
                            self.env._("Cost per customer"), paid.mapped("cac")
                        )
                    ],
                    y_title=analysis.currency_id.name,
                )

    @api.constrains("min_sample")
    def _check_min_sample(self):
        if any(analysis.min_sample < 1 for analysis in self):
            raise ValidationError(self.env._("The minimum sample is at least 1 lead."))

    def action_compute(self):
        for analysis in self:
            analysis._compute_quality()
        return self._reopen()

    @api.model
    def action_open(self):
        analysis = self.create({})
        analysis._compute_quality()
        return analysis._reopen()

    def action_print(self):
        self.ensure_one()
        if not self.computed:
            self._compute_quality()
        return self.env.ref(
            "prm_funnel.action_report_prm_source_quality"
        ).report_action(self)

    # ------------------------------------------------------------------

    def _groups(self):
        """{key: figures} of the leads created in the period."""
        self.env.flush_all()
        start, end = self._period()

        def where(alias):
            return SQL(" AND ").join(
                [
                    *self._lead_conditions(alias),
                    SQL("%s >= %s", SQL.identifier(alias, "create_date"), start),
                    SQL("%s < %s", SQL.identifier(alias, "create_date"), end),
                ]
            )

        # the value added is summed from the value rows alone, which carry
        # the leads' keys: joined to the leads it took a third of the time
        # (hashing a million value rows); no JIT: compiling took 50-100 ms of
        # about 1 s at a million leads
        with without_jit(self.env.cr):
            self.env.cr.execute(
                SQL(
                    """
            SELECT %(key)s, count(*), sum(r.qualified), sum(r.accepted), sum(r.won),
                   sum(r.lost), sum(r.engaged), avg(r.first_fit), avg(r.first_score),
                   avg(r.fit), avg(r.score),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY r.days_to_qualify),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY r.days_to_win),
                   sum(r.won_revenue)
              FROM (%(report)s) AS r
             WHERE %(where)s
          GROUP BY 1
                    """,
                    key=SQL.identifier("r", self.dimension),
                    report=self.env["prm.source.report"]._lead_rows(value_added=False),
                    where=where("r"),
                )
            )
            rows = self.env.cr.fetchall()
            self.env.cr.execute(
                SQL(
                    "SELECT %s, sum(v.value_added) FROM %s v WHERE %s GROUP BY 1",
                    SQL.identifier("v", self.dimension),
                    SQL.identifier(lead_facts.VALUE_TABLE),
                    where("v"),
                )
            )
            values = dict(self.env.cr.fetchall())
        names = (
            "leads", "qualified", "accepted", "won", "lost", "engaged", "first_fit",
            "first_score", "fit", "score", "days_to_qualify", "days_to_win",
            "won_revenue", "value_added",
        )  # fmt: skip
        return {
            row[0]: dict(
                zip(
                    names,
                    (float(v or 0) for v in (*row[1:], values.get(row[0]))),
                    strict=True,
                )
            )
            for row in rows
        }

    def _costs(self):
        """{key: cost in the period} (company currency), or None when costs
        are not shown."""
        if (
            self.dimension not in ("source_id", "medium_id", "campaign_id")
            or self.team_id
            or self.user_id
            or not self.env.user.has_group("prm_funnel.group_prm_costs")
        ):
            return None
        costs = defaultdict(float)
        for cost in self.env["prm.acquisition.cost"].search(
            [
                ("company_id", "=", self.company_id.id),
                ("date_from", "<=", self.date_to),
                ("date_to", ">=", self.date_from),
            ]
        ):
            costs[cost[self.dimension].id or None] += prorate(
                cost.amount_company,
                cost.date_from,
                cost.date_to,
                self.date_from,
                self.date_to,
            )
        return costs

    def _label(self, key):
        if key is None:
            return self.env._("(none)")
        if self.dimension in COMODELS:
            return self.env[COMODELS[self.dimension]].browse(key).display_name
        return key

    def _compute_quality(self):
        self.ensure_one()
        groups = self._groups()
        costs = self._costs()
        keys = set(groups) | set(costs or ())
        total = sum(g["leads"] for g in groups.values())
        total_won = sum(g["won"] for g in groups.values())
        months = months_between(self.date_from, self.date_to)
        lines = []
        for key in keys:
            g = groups.get(key) or defaultdict(float)
            n, won = int(g["leads"]), int(g["won"])
            interval = wilson_interval(won, n)
            cost = (costs or {}).get(key, 0.0)
            metrics = cost_metrics(
                cost, n, g["qualified"], won, g["won_revenue"], g["value_added"], months
            )
            show = costs is not None and bool(cost)
            lines.append(
                {
                    "analysis_id": self.id,
                    "name": self._label(key),
                    "leads": n,
                    "qualified": int(g["qualified"]),
                    "qualified_pct": 100 * g["qualified"] / n if n else 0.0,
                    "accepted_pct": 100 * g["accepted"] / n if n else 0.0,
                    "won": won,
                    "lost_pct": 100 * g["lost"] / n if n else 0.0,
                    "conversion": 100 * won / n if n else 0.0,
                    "conversion_low": 100 * interval[0] if interval else 0.0,
                    "conversion_high": 100 * interval[1] if interval else 0.0,
                    "enough_data": n >= self.min_sample,
                    "verdict": (
                        verdict(won, n, total_won - won, total - n)
                        if n >= self.min_sample
                        else "not_enough_data"
                    ),
                    "first_fit": g["first_fit"],
                    "first_score": g["first_score"],
                    "fit": g["fit"],
                    "score": g["score"],
                    "days_to_qualify": g["days_to_qualify"],
                    "days_to_win": g["days_to_win"],
                    "won_revenue": g["won_revenue"],
                    "avg_deal": g["won_revenue"] / won if won else 0.0,
                    "engaged_pct": 100 * g["engaged"] / n if n else 0.0,
                    "cost": cost,
                    "cost_per_lead": metrics["cost_per_lead"] or 0.0,
                    "cost_per_qualified": metrics["cost_per_qualified"] or 0.0,
                    "cac": metrics["cac"] or 0.0,
                    "roi": 100 * (metrics["roi"] or 0.0),
                    "payback_months": metrics["payback_months"] or 0.0,
                    "value_added": g["value_added"],
                    "value_per_cost": metrics["value_per_cost"] or 0.0,
                    "has_cost": show,
                    "has_leads": show and metrics["cost_per_lead"] is not None,
                    "has_qualified": show and metrics["cost_per_qualified"] is not None,
                    "has_cac": show and metrics["cac"] is not None,
                    "has_payback": show and metrics["payback_months"] is not None,
                    "has_deal": bool(won),
                    "_roi": metrics["roi"] if show else None,
                }
            )
        # ranked: best return first, then best conversion
        lines.sort(
            key=lambda line: (
                line["_roi"] is None,
                -(line["_roi"] or 0.0),
                -line["conversion"],
                line["name"],
            )
        )
        for rank, line in enumerate(lines, start=1):
            line["rank"] = rank
            del line["_roi"]
        self.line_ids.unlink()
        self.env["prm.source.quality.line"].create(lines)
        interval = wilson_interval(total_won, total)
        total_cost = sum((costs or {}).values())
        won_revenue = sum(g["won_revenue"] for g in groups.values())
        self.write(
            {
                "computed": True,
                "show_costs": costs is not None,
                "leads": total,
                "won": total_won,
                "conversion": 100 * total_won / total if total else 0.0,
                "conversion_low": 100 * interval[0] if interval else 0.0,
                "conversion_high": 100 * interval[1] if interval else 0.0,
                "cost": total_cost,
                "won_revenue": won_revenue,
                "cac": total_cost / total_won if total_won else 0.0,
                "roi": 100 * (won_revenue - total_cost) / total_cost
                if total_cost
                else 0.0,
                "has_cac": bool(costs is not None and total_won and total_cost),
                "has_roi": bool(costs is not None and total_cost),
            }
        )
