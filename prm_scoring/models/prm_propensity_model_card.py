# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from odoo.addons.prm_tracking.tools import charts

from ..engine import features as feat


class PrmPropensityModel(models.Model):
    """The model card: what a trained conversion model tells its readers
    (verdict against Odoo's PLS, figures, charts, strongest signals)."""

    _inherit = "prm.propensity.model"

    model_card = fields.Html(compute="_compute_model_card", sanitize=False)
    reliability_chart = fields.Json(
        string="Reliability diagram", compute="_compute_charts"
    )
    lift_chart = fields.Json(string="Lift by decile", compute="_compute_charts")

    @api.depends("params", "calibration", "state")
    def _compute_model_card(self):
        for model in self:
            model.model_card = (
                self.env["ir.qweb"]._render(
                    "prm_scoring.prm_propensity_model_card", model._card_values()
                )
                if model.state == "trained"
                else False
            )

    @api.depends("calibration", "pls_calibration", "lift", "pls_lift")
    def _compute_charts(self):
        """The reliability diagram (predicted vs observed, per tenth of the
        validation snapshots; the diagonal is perfect calibration) and the
        lift by decile, this model against Odoo's PLS."""
        for model in self:
            if model.state != "trained":
                model.reliability_chart = model.lift_chart = False
                continue
            series = [(self.env._("This model"), model.calibration or [], 1)]
            if model.pls_calibration:
                series.append((self.env._("Odoo PLS"), model.pls_calibration or [], 2))
            top = max(
                [0.05]
                + [
                    max(row["predicted"], row["observed"])
                    for _label, table, _c in series
                    for row in table
                ]
            )
            datasets = [
                charts.dataset(
                    self.env._("Perfect calibration"),
                    [{"x": 0, "y": 0}, {"x": top, "y": top}],
                    showLine=True,
                    pointRadius=0,
                    pointStyle="line",
                    borderWidth=1,
                    borderDash=[4, 4],
                    borderColor="#adb5bd",
                    backgroundColor="#adb5bd",
                )
            ] + [
                charts.dataset(
                    label,
                    [{"x": row["predicted"], "y": row["observed"]} for row in table],
                    showLine=True,
                    colorIndex=color,
                )
                for label, table, color in series
            ]
            reliability = charts.chart(
                "scatter",
                [],
                datasets,
                x_title=self.env._("Predicted"),
                y_title=self.env._("Observed"),
                percent=True,
                legend=True,
            )
            reliability["options"]["scales"]["x"]["ticks"] = {
                "format": {"style": "percent"}
            }
            reliability["options"]["plugins"]["legend"]["labels"] = {
                "usePointStyle": True
            }
            model.reliability_chart = reliability
            lift = [
                charts.dataset(
                    self.env._("This model"),
                    [row["lift"] for row in model.lift or []],
                    colorIndex=1,
                )
            ]
            if model.pls_lift:
                lift.append(
                    charts.dataset(
                        self.env._("Odoo PLS"),
                        [row["lift"] for row in model.pls_lift],
                        colorIndex=2,
                    )
                )
            model.lift_chart = charts.chart(
                "bar",
                [str(row["decile"]) for row in model.lift or []],
                lift,
                x_title=self.env._("Decile (highest probabilities first)"),
                y_title=self.env._("Lift (conversion rate / average)"),
                legend=True,
            )

    def _card_values(self):
        """What the model card template shows."""
        better = worse = False
        if self.pls_coverage:
            better = self.diff_low > 0
            worse = self.diff_high < 0
        if not self.pls_coverage:
            verdict = self.env._(
                "Odoo's predictive lead scoring gave no probability on these "
                "snapshots (it needs won and lost leads per team), so there is "
                "nothing to compare with."
            )
        elif better:
            verdict = self.env._(
                "This model ranks leads better than Odoo's predictive lead "
                "scoring on the same snapshots: the 95%% interval of the "
                "difference in AUC (%(low)+.3f to %(high)+.3f) lies above zero.",
                low=self.diff_low,
                high=self.diff_high,
            )
        elif worse:
            verdict = self.env._(
                "This model ranks leads worse than Odoo's predictive lead "
                "scoring on the same snapshots (difference in AUC %(low)+.3f to "
                "%(high)+.3f). Odoo's own probability is the better guide for "
                "now; add fit rules or wait for more history.",
                low=self.diff_low,
                high=self.diff_high,
            )
        else:
            verdict = self.env._(
                "This model is not shown to rank leads better than Odoo's "
                "predictive lead scoring: the 95%% interval of the difference "
                "in AUC (%(low)+.3f to %(high)+.3f) includes zero.",
                low=self.diff_low,
                high=self.diff_high,
            )
        return {
            "model": self,
            "verdict": verdict,
            "better": better,
            "worse": worse,
            "lift_rows": self._lift_rows(),
            "signals": self._strongest_signals(),
        }

    def _lift_rows(self):
        pls = {row["decile"]: row for row in self.pls_lift or []}
        return [
            {
                "decile": row["decile"],
                "rate": f"{100 * row['rate']:.1f} %",
                "lift": f"{row['lift']:.2f}×",
                "pls_rate": f"{100 * pls[row['decile']]['rate']:.1f} %"
                if row["decile"] in pls
                else "",
                "pls_lift": f"{pls[row['decile']]['lift']:.2f}×"
                if row["decile"] in pls
                else "",
            }
            for row in self.lift or []
        ]

    def _strongest_signals(self, limit=12):
        """The features and attribute values with the largest weights."""
        params = self.params or {}
        Data = self.env["prm.propensity.data"]
        labels = Data._group_labels()
        items = []
        for (name, group), coef in zip(
            feat.NUMERIC, params.get("coef_numeric", []), strict=False
        ):
            items.append((coef, f"{labels[group]} ({name.replace('_', ' ')})"))
        for (field, value), coef in zip(
            params.get("columns", []), params.get("coef_columns", []), strict=False
        ):
            items.append(
                (
                    coef,
                    f"{labels[field]}: {Data._attribute_value_label(field, value)}",
                )
            )
        items.sort(key=lambda item: -abs(item[0]))
        return [
            {"label": label, "weight": f"{coef:+.2f}", "up": coef > 0}
            for coef, label in items[:limit]
        ]
