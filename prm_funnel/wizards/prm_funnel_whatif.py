# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.prm_tracking.tools import charts

from ..engine import what_if

KINDS = [
    ("relative", "Relative: each stage's conversion x (1 + lift)"),
    ("absolute", "Absolute: + lift percentage points on each stage"),
]


class PrmFunnelWhatif(models.TransientModel):
    """What if every stage converted a little better?  The measured stage
    conversions of a funnel analysis, each lifted by the same amount (two
    scenarios, +3 % and +5 % by default), multiplied into the projected
    end-to-end conversion, wins and revenue."""

    _name = "prm.funnel.whatif"
    _description = "PRM Funnel What-if"

    analysis_id = fields.Many2one(
        "prm.funnel.analysis", required=True, ondelete="cascade"
    )
    currency_id = fields.Many2one(related="analysis_id.currency_id")
    lift_kind = fields.Selection(KINDS, required=True, default="relative")
    lift_low = fields.Float(string="Lift, low scenario", default=3.0)
    lift_high = fields.Float(string="Lift, high scenario", default=5.0)
    lift_unit = fields.Char(compute="_compute_projection")
    entrants = fields.Integer(
        related="analysis_id.leads", string="Leads entering the funnel"
    )
    avg_deal = fields.Monetary(compute="_compute_projection", string="Average won deal")
    measured = fields.Float(
        string="Measured end-to-end (%)", compute="_compute_projection"
    )
    projected_low = fields.Float(
        string="Projected, low (%)", compute="_compute_projection"
    )
    projected_high = fields.Float(
        string="Projected, high (%)", compute="_compute_projection"
    )
    gain_low = fields.Float(string="Gain, low (%)", compute="_compute_projection")
    gain_high = fields.Float(string="Gain, high (%)", compute="_compute_projection")
    wins_measured = fields.Float(compute="_compute_projection")
    wins_low = fields.Float(compute="_compute_projection")
    wins_high = fields.Float(compute="_compute_projection")
    revenue_measured = fields.Monetary(compute="_compute_projection")
    revenue_low = fields.Monetary(compute="_compute_projection")
    revenue_high = fields.Monetary(compute="_compute_projection")
    stages_html = fields.Html(compute="_compute_projection", sanitize=False)
    funnel_chart = fields.Json(string="Funnel", compute="_compute_projection")

    @api.constrains("lift_low", "lift_high", "lift_kind")
    def _check_lifts(self):
        for wizard in self:
            if (
                min(wizard.lift_low, wizard.lift_high) < 0
                or max(wizard.lift_low, wizard.lift_high) > 100
            ):
                raise ValidationError(
                    self.env._("A lift is between 0 and 100 (percent or points).")
                )

    def _conversions(self):
        lines = self.analysis_id.line_ids.filtered("has_rates").sorted("sequence")
        return lines, [line.conversion_next / 100.0 for line in lines]

    @api.depends("lift_kind", "lift_low", "lift_high", "analysis_id")
    def _compute_projection(self):
        for wizard in self:
            analysis = wizard.analysis_id
            lines, conversions = wizard._conversions()
            avg_deal = analysis.avg_deal or (
                analysis.won_revenue / analysis.won if analysis.won else 0.0
            )
            low = what_if(
                conversions,
                wizard.lift_low / 100.0,
                wizard.lift_kind,
                entrants=analysis.leads,
                avg_deal=avg_deal,
            )
            high = what_if(
                conversions,
                wizard.lift_high / 100.0,
                wizard.lift_kind,
                entrants=analysis.leads,
                avg_deal=avg_deal,
            )
            wizard.lift_unit = "%" if wizard.lift_kind == "relative" else "pts"
            wizard.avg_deal = avg_deal
            wizard.measured = 100.0 * low["measured"]
            wizard.projected_low = 100.0 * low["projected"]
            wizard.projected_high = 100.0 * high["projected"]
            wizard.gain_low = 100.0 * (low["gain"] or 0.0)
            wizard.gain_high = 100.0 * (high["gain"] or 0.0)
            wizard.wins_measured, wizard.wins_low = low["wins"]
            wizard.wins_high = high["wins"][1]
            wizard.revenue_measured, wizard.revenue_low = low["revenue"]
            wizard.revenue_high = high["revenue"][1]
            wizard.stages_html = wizard._render_stages(lines, conversions, low, high)
            wizard.funnel_chart = wizard._funnel_chart(lines, low, high)

    def _funnel_chart(self, lines, low, high):
        """The funnel as measured, with the two scenarios overlaid: leads
        reaching each stage, then won, out of the analysis's entrants."""
        if not lines:
            return False
        entrants = self.analysis_id.leads

        def reaching(rates):
            out, share = [], 1.0
            for rate in rates:
                out.append(entrants * share)
                share *= rate
            return out + [entrants * share]

        measured = reaching(line.conversion_next / 100.0 for line in lines)
        return charts.chart(
            "bar",
            lines.stage_id.mapped("name") + [self.env._("Won")],
            [
                charts.dataset(self.env._("Measured"), measured, colorIndex=1),
                charts.dataset(
                    self.env._("Low scenario"),
                    reaching(low["projected_stages"]),
                    borderColor="#f0ad4e",
                ),
                charts.dataset(
                    self.env._("High scenario"),
                    reaching(high["projected_stages"]),
                    borderColor="#f0ad4e",
                ),
            ],
            prmFunnel=True,
            legend=True,
        )

    def _render_stages(self, lines, conversions, low, high):
        head = Markup(
            "<table class='table table-sm'><thead><tr><th>%s</th>"
            "<th class='text-end'>%s</th><th class='text-end'>%s</th>"
            "<th class='text-end'>%s</th></tr></thead><tbody>"
        ) % (
            self.env._("Stage"),
            self.env._("Measured"),
            self.env._("Low scenario"),
            self.env._("High scenario"),
        )
        body = Markup("").join(
            Markup(
                "<tr><td>%s</td><td class='text-end'>%s</td>"
                "<td class='text-end'>%s</td><td class='text-end'>%s</td></tr>"
            )
            % (
                line.stage_id.name,
                f"{100 * measured:.1f} %",
                f"{100 * projected_low:.1f} %",
                f"{100 * projected_high:.1f} %",
            )
            for line, measured, projected_low, projected_high in zip(
                lines,
                conversions,
                low["projected_stages"],
                high["projected_stages"],
                strict=True,
            )
        )
        return head + body + Markup("</tbody></table>")
