# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import io

import numpy as np
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from ..engine import (
    RuleMatches,
    Ruleset,
    at_snapshots,
    decayed_points,
    score_batch,
    to_micros,
)
from ..engine.pgcopy import parse_binary_copy
from .crm_lead import ids_condition, ids_domain, pg_array

BITS_PER_PASS = 62  # engagement rules matched per pass (one bit each, int8)

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
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("prm_scoring.rules_changed", "1")
        # a full recompute under way restarts, under the new rules
        params.set_param("prm_scoring.rescore_run", "")
        self._prm_trigger_rescore()

    @api.model
    def _prm_trigger_rescore(self):
        """Have the full recompute run as soon as possible."""
        cron = self.env.ref("prm_scoring.ir_cron_prm_rescore", raise_if_not_found=False)
        if cron:
            cron.sudo()._trigger()

    @api.model
    def _prm_create_default(self, company):
        """The rule set a company gets when PRM is installed: engagement rules
        for the seeded event types (points, half-life, caps), no fit rules
        (those are the company's own: see the notes), so that leads are
        scored from their first event."""
        types = {
            t.code: t.id
            for t in self.env["prm.event.type"]
            .sudo()
            .with_context(active_test=False)
            .search([])
        }
        rules = [
            # code, name, points, half-life (days), cap, per-day cap
            ("registration", "Registered", 20, 60, 20, 0),
            ("identify", "Identified themselves", 5, 60, 5, 0),
            ("page_view", "Page visits (frequency and recency)", 2, 14, 30, 6),
            ("form_submit", "Form sent", 10, 30, 20, 0),
            ("download", "Downloads", 6, 30, 18, 0),
            ("email_open", "Email opens", 1, 21, 6, 0),
            ("email_click", "Email clicks", 4, 21, 16, 0),
            ("email_reply", "Email replies", 8, 30, 16, 0),
            ("call", "Calls", 8, 45, 16, 0),
            ("meeting", "Meetings", 12, 60, 24, 0),
            ("unsubscribe", "Unsubscribed", -20, 90, 20, 0),
        ]
        return self.sudo().create(
            {
                "name": self.env._("Default scoring"),
                "company_id": company.id,
                "fit_weight": 0,
                "engagement_weight": 100,
                "notes": self.env._(
                    "Created when PRM was installed: engagement only. Add fit "
                    "rules for what your best customers declare (e.g. company "
                    "size, industry, function, country, a phone given), then "
                    "give fit a weight."
                ),
                "rule_ids": [
                    fields.Command.create(
                        {
                            "name": name,
                            "kind": "engagement",
                            "event_type_id": types[code],
                            "points": points,
                            "half_life_days": half_life,
                            "max_points": cap,
                            "period_days": 1 if per_day else 0,
                            "period_cap": per_day,
                        }
                    )
                    for code, name, points, half_life, cap, per_day in rules
                    if code in types
                ],
            }
        )

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

    # ------------------------------------------------------------------
    # SCORING
    # ------------------------------------------------------------------

    def _engine_settings(self):
        self.ensure_one()
        return Ruleset(
            fit_weight=self.fit_weight,
            engagement_weight=self.engagement_weight,
            fit_cap=self.fit_cap,
            engagement_cap=self.engagement_cap,
        )

    def _prm_score_leads(self, lead_ids, now, explain=False):
        """(lead ids, engine Scores) of these leads under this rule set at
        ``now``: fit rules in one query, engagement from one binary COPY of the
        matching events, all scored by the engine at once."""
        self.ensure_one()
        lead_ids = np.unique(np.asarray(lead_ids, dtype=np.int64))
        rules = self.sudo().rule_ids.filtered("active")
        fit_rules = rules.filtered(lambda r: r.kind == "fit")
        engagement = rules - fit_rules
        scores = score_batch(
            len(lead_ids),
            self._prm_fit_matches(lead_ids, fit_rules),
            self._prm_engagement_matches(lead_ids, engagement),
            self._engine_settings(),
            to_micros(now),
            explain=explain,
        )
        return lead_ids, scores

    def _prm_scores_at(self, lead_ids, snap_lead, snap_at):
        """Engine Scores of snapshots (index in ``lead_ids`` (sorted), instant
        in µs): each lead as it was then (earlier events only, decayed to the
        instant)."""
        self.ensure_one()
        lead_ids = np.asarray(lead_ids, dtype=np.int64)
        rules = self.sudo().rule_ids.filtered("active")
        fit_rules = rules.filtered(lambda r: r.kind == "fit")
        fit, matches = at_snapshots(
            self._prm_fit_matches(lead_ids, fit_rules),
            self._prm_engagement_matches(lead_ids, rules - fit_rules),
            snap_lead,
            snap_at,
        )
        return score_batch(
            len(snap_lead), fit, matches, self._engine_settings(), snap_at
        )

    def _prm_fit_matches(self, lead_ids, rules):
        """[(engine FitRule, indices in ``lead_ids`` of the leads it matches)],
        every rule's filter evaluated in one query."""
        if not rules:
            return []
        Lead = self.env["crm.lead"].sudo().with_context(active_test=False)
        domain = ids_domain(lead_ids.tolist())
        queries = [Lead._search(rule._fit_domain() + domain) for rule in rules]
        # execute_query flushes the fields the filters read
        [row] = self.env.execute_query(
            SQL(
                "SELECT %s",
                SQL(", ").join(SQL("ARRAY(%s)", query.select()) for query in queries),
            )
        )
        matches = []
        for rule, found in zip(rules, row, strict=True):
            found = np.asarray(found, dtype=np.int64)
            found = found[np.isin(found, lead_ids)]
            matches.append((rule._to_engine(), np.searchsorted(lead_ids, found)))
        return matches

    def _prm_engagement_matches(self, lead_ids, rules):
        """[engine RuleMatches], one per engagement rule: the (lead, event)
        pairs each rule counts.  One pass over the leads' events gives each
        event a bit per rule it matches.  URL, UTM and property filters are
        decided by the engine's own predicates on the distinct values found,
        so SQL and the engine agree exactly."""
        if not rules:
            return []
        self.env["prm.event"].flush_model()
        leads = lead_ids.tolist()
        matches = []
        for start in range(0, len(rules), BITS_PER_PASS):
            group = rules[start : start + BITS_PER_PASS]
            bits = SQL(" | ").join(
                SQL(
                    "(CASE WHEN %s THEN %s::int8 ELSE 0 END)",
                    rule._prm_event_condition(leads),
                    1 << k,
                )
                for k, rule in enumerate(group)
            )
            query = SQL(
                """
                COPY (
                    SELECT * FROM (
                        SELECT e.lead_id, e.id, e.occurred_at, %(bits)s AS bits
                          FROM prm_event e
                         WHERE %(leads)s
                           AND e.is_bot IS NOT TRUE
                           AND e.event_type_id = ANY(%(types)s)
                    ) AS m
                     WHERE m.bits <> 0
                ) TO STDOUT (FORMAT binary)
                """,
                bits=bits,
                leads=ids_condition(SQL("e.lead_id"), leads),
                types=pg_array(set(group.event_type_id.ids)),
            )
            buffer = io.BytesIO()
            cr = self.env.cr
            cr.copy_expert(cr.mogrify(query).decode(), buffer)
            rows = parse_binary_copy(
                buffer.getvalue(),
                [
                    ("lead", "int4"),
                    ("event", "int4"),
                    ("at", "timestamp"),
                    ("bits", "int8"),
                ],
            )
            lead_index = np.searchsorted(lead_ids, rows["lead"])
            for k, rule in enumerate(group):
                hit = (rows["bits"] >> k) & 1 == 1
                matches.append(
                    RuleMatches(
                        rule._to_engine(),
                        lead=lead_index[hit],
                        event=rows["event"][hit],
                        at=rows["at"][hit],
                    )
                )
        return matches
