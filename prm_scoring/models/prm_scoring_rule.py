# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools.safe_eval import safe_eval

from ..engine import EngagementRule, FitRule


class PrmScoringRule(models.Model):
    """One scoring rule: a fit criterion on the lead, or an engagement signal."""

    _name = "prm.scoring.rule"
    _description = "PRM Scoring Rule"
    _order = "ruleset_id, kind, sequence, id"

    name = fields.Char(required=True)
    ruleset_id = fields.Many2one(
        "prm.scoring.ruleset", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="ruleset_id.company_id", store=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    kind = fields.Selection(
        [("fit", "Fit"), ("engagement", "Engagement")], required=True, default="fit"
    )
    points = fields.Float(
        required=True, help="Points added (negative: taken away) when the rule applies."
    )
    # fit
    domain = fields.Char(
        default="[]", help="Leads matching this filter get the rule's points."
    )
    # engagement
    event_type_id = fields.Many2one("prm.event.type", ondelete="restrict")
    half_life_days = fields.Float(
        string="Half-life (days)",
        help="An event loses half its points after this many days; 0 = no decay.",
    )
    max_points = fields.Float(
        string="Cap", help="Most points (in absolute value) this rule gives; 0 = none."
    )
    period_days = fields.Float(string="Period (days)")
    period_cap = fields.Float(
        string="Cap per Period",
        help="Most undecayed points this rule gives per period; 0 = none.",
    )
    url_pattern = fields.Char(
        string="URL Pattern", help="Only events whose URL matches, e.g. */pricing*"
    )
    utm_source_id = fields.Many2one("utm.source", string="UTM Source")
    utm_medium_id = fields.Many2one("utm.medium", string="UTM Medium")
    utm_campaign_id = fields.Many2one("utm.campaign", string="UTM Campaign")
    property_key = fields.Char(help="Only events carrying this property ...")
    property_value = fields.Char(help="... with this value (empty: any value).")

    _sql_constraints = [
        (
            "decay_positive",
            "check(half_life_days >= 0 and max_points >= 0 and period_days >= 0 "
            "and period_cap >= 0)",
            "Half-life, caps and period cannot be negative.",
        ),
    ]

    @api.constrains("kind", "domain", "event_type_id")
    def _check_kind(self):
        for rule in self:
            if rule.kind == "engagement" and not rule.event_type_id:
                raise ValidationError(
                    self.env._(
                        "Engagement rule %(name)s needs an event type.", name=rule.name
                    )
                )
            if rule.kind == "fit":
                try:
                    domain = safe_eval(rule.domain or "[]")
                    self.env["crm.lead"].search_count(domain, limit=1)
                except Exception as exc:
                    raise ValidationError(
                        self.env._(
                            "Fit rule %(name)s has an invalid filter: %(error)s",
                            name=rule.name,
                            error=exc,
                        )
                    ) from exc

    @api.model_create_multi
    def create(self, vals_list):
        rules = super().create(vals_list)
        self.env["prm.scoring.ruleset"]._prm_rules_changed()
        return rules

    def write(self, vals):
        res = super().write(vals)
        self.env["prm.scoring.ruleset"]._prm_rules_changed()
        return res

    def unlink(self):
        res = super().unlink()
        self.env["prm.scoring.ruleset"]._prm_rules_changed()
        return res

    def _fit_domain(self):
        self.ensure_one()
        return safe_eval(self.domain or "[]")

    def _to_engine(self):
        """The engine's view of this rule."""
        self.ensure_one()
        if self.kind == "fit":
            return FitRule(self.id, self.points, self.name)
        return EngagementRule(
            id=self.id,
            event_type=self.event_type_id.code,
            points=self.points,
            half_life_days=self.half_life_days,
            max_points=self.max_points,
            period_days=self.period_days,
            period_cap=self.period_cap,
            url_pattern=self.url_pattern or "",
            utm_source=self.utm_source_id.name or "",
            utm_medium=self.utm_medium_id.name or "",
            utm_campaign=self.utm_campaign_id.name or "",
            property_key=self.property_key or "",
            property_value=self.property_value or "",
            name=self.name,
        )
