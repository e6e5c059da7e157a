# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL
from odoo.tools.safe_eval import safe_eval

from ..engine import EngagementRule, FitRule
from .crm_lead import ids_condition


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
        default=lambda self: float(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("prm_scoring.default_half_life", 30.0)
        ),
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

    def _prm_event_condition(self, lead_ids):
        """SQL condition on ``prm_event e`` equivalent to the engine's
        :meth:`EngagementRule.matches` for the events of ``lead_ids`` (bots are
        excluded by the caller).  Free-form filters (URL pattern, property)
        are decided by the engine on the distinct values those events hold."""
        self.ensure_one()
        engine_rule = self._to_engine()
        conditions = [SQL("e.event_type_id = %s", self.event_type_id.id)]
        of_rule = SQL(
            "%s AND e.event_type_id = %s",
            ids_condition(SQL("e.lead_id"), lead_ids),
            self.event_type_id.id,
        )
        if self.url_pattern:
            self.env.cr.execute(
                SQL("SELECT DISTINCT e.url FROM prm_event e WHERE %s", of_rule)
            )
            urls = [url for (url,) in self.env.cr.fetchall() if url is not None]
            condition = SQL(
                "e.url = ANY(%s)", [url for url in urls if engine_rule.url_matches(url)]
            )
            if engine_rule.url_matches(""):
                condition = SQL("(%s OR e.url IS NULL)", condition)
            conditions.append(condition)
        for field_name, column in (
            ("utm_source_id", "source_id"),
            ("utm_medium_id", "medium_id"),
            ("utm_campaign_id", "campaign_id"),
        ):
            wanted = self[field_name]
            if wanted:
                same = wanted.search([("name", "=ilike", wanted.name)]).filtered(
                    lambda rec, wanted=wanted: rec.name.lower() == wanted.name.lower()
                )
                conditions.append(
                    SQL("%s = ANY(%s)", SQL.identifier("e", column), same.ids or [0])
                )
        if self.property_key:
            value_sql = SQL("e.payload -> 'properties' -> %s", self.property_key)
            self.env.cr.execute(
                SQL(
                    "SELECT DISTINCT %s FROM prm_event e WHERE %s AND %s IS NOT NULL",
                    value_sql,
                    of_rule,
                    value_sql,
                )
            )
            good = [
                json.dumps(value)
                for (value,) in self.env.cr.fetchall()
                if engine_rule.property_matches(value)
            ]
            conditions.append(SQL("%s = ANY(%s::jsonb[])", value_sql, good))
        return SQL(" AND ").join(conditions)
