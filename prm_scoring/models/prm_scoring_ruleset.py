# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..engine import decayed_points

PREVIEW_DAYS = (0, 7, 14, 30, 60, 90)
SCORING_FIELDS = {
    "active",
    "company_id",
    "fit_weight",
    "engagement_weight",
    "fit_cap",
    "engagement_cap",
}


class PrmScoringRuleset(models.Model):
    """A versioned set of scoring rules; one is active per company."""

    _name = "prm.scoring.ruleset"
    _description = "PRM Scoring Rule Set"
    _order = "company_id, active desc, version desc, id desc"

    name = fields.Char(required=True)
    version = fields.Integer(default=1, readonly=True, copy=False)
    active = fields.Boolean(
        default=True,
        help="The active rule set of a company scores its leads; archived "
        "versions are kept for history.",
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        index=True,
    )
    fit_weight = fields.Float(
        default=50.0,
        help="Share (%) of the fit score in the combined 0-100 score.",
    )
    engagement_weight = fields.Float(
        default=50.0,
        help="Share (%) of the engagement score in the combined 0-100 score.",
    )
    fit_cap = fields.Float(
        default=100.0, help="Fit points above this value count as this value."
    )
    engagement_cap = fields.Float(
        default=100.0, help="Engagement points above this value count as this value."
    )
    horizon_days = fields.Integer(
        default=30,
        help="Horizon of the conversion probability: chance to be won within "
        "this many days.",
    )
    notes = fields.Text()
    rule_ids = fields.One2many("prm.scoring.rule", "ruleset_id", string="Rules")
    decay_preview = fields.Html(
        compute="_compute_decay_preview",
        sanitize=False,
        help="What one event of each engagement rule is worth as it ages.",
    )
    fit_rule_ids = fields.One2many(
        "prm.scoring.rule",
        "ruleset_id",
        domain=[("kind", "=", "fit")],
        string="Fit Rules",
    )
    engagement_rule_ids = fields.One2many(
        "prm.scoring.rule",
        "ruleset_id",
        domain=[("kind", "=", "engagement")],
        string="Engagement Rules",
    )

    _sql_constraints = [
        (
            "weights_range",
            "check(fit_weight >= 0 and engagement_weight >= 0)",
            "Score weights cannot be negative.",
        ),
        (
            "caps_positive",
            "check(fit_cap > 0 and engagement_cap > 0)",
            "Score caps must be positive.",
        ),
        (
            "horizon_positive",
            "check(horizon_days > 0)",
            "The horizon must be at least one day.",
        ),
    ]

    @api.depends(
        "engagement_rule_ids.points",
        "engagement_rule_ids.half_life_days",
        "engagement_rule_ids.name",
    )
    def _compute_decay_preview(self):
        days = PREVIEW_DAYS
        for ruleset in self:
            rules = ruleset.engagement_rule_ids.filtered("active")
            if not rules:
                ruleset.decay_preview = False
                continue
            head = Markup("").join(
                Markup("<th class='text-end'>%s</th>") % d for d in days
            )
            body = Markup("").join(
                Markup("<tr><td>%s</td>%s</tr>")
                % (
                    rule.name,
                    Markup("").join(
                        Markup("<td class='text-end'>%s</td>")
                        % f"{decayed_points(rule.points, d, rule.half_life_days):.1f}"
                        for d in days
                    ),
                )
                for rule in rules
            )
            ruleset.decay_preview = Markup(
                "<table class='table table-sm'><thead><tr><th>%s</th>%s</tr></thead>"
                "<tbody>%s</tbody></table>"
            ) % (self.env._("Points of one event after N days"), head, body)

    @api.constrains("fit_weight", "engagement_weight")
    def _check_weights(self):
        for ruleset in self:
            if abs(ruleset.fit_weight + ruleset.engagement_weight - 100.0) > 1e-6:
                raise ValidationError(
                    self.env._(
                        "The fit and engagement weights of %(name)s must add up to "
                        "100 (they add up to %(total)s).",
                        name=ruleset.name,
                        total=ruleset.fit_weight + ruleset.engagement_weight,
                    )
                )

    @api.constrains("active", "company_id")
    def _check_one_active_per_company(self):
        for company in self.filtered("active").company_id:
            count = self.search_count(
                [("company_id", "=", company.id), ("active", "=", True)]
            )
            if count > 1:
                raise ValidationError(
                    self.env._(
                        "Company %(company)s already has an active scoring rule set: "
                        "archive it first, or use 'New version'.",
                        company=company.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        rulesets = super().create(vals_list)
        self._prm_rules_changed()
        return rulesets

    def write(self, vals):
        res = super().write(vals)
        if set(vals) & SCORING_FIELDS:
            self._prm_rules_changed()
        return res

    @api.model
    def _prm_rules_changed(self):
        """Rescore every lead soon, and say why in the score ledger."""
        self.env["ir.config_parameter"].sudo().set_param(
            "prm_scoring.rules_changed", "1"
        )
        cron = self.env.ref("prm_scoring.ir_cron_prm_rescore", raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger()

    @api.model
    def _get_active(self, company=None):
        """The active rule set of ``company`` (default: current company)."""
        company = company or self.env.company
        return self.search(
            [("company_id", "=", company.id), ("active", "=", True)], limit=1
        )

    def action_new_version(self):
        """Archive this rule set and open a copy of it as the next version."""
        self.ensure_one()
        new = self.copy({"version": self.version + 1, "active": False})
        self.rule_ids.copy({"ruleset_id": new.id})
        self.active = False
        new.active = True
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": new.id,
            "view_mode": "form",
            "target": "current",
        }
