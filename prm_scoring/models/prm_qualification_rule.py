# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.osv import expression
from odoo.tools.safe_eval import safe_eval

from .crm_lead import GRADES

CONFIRM_PARAM = "prm_scoring.qualification_confirm_above"
DEFAULT_CONFIRM_ABOVE = 100
# what decides which leads a rule takes
MATCH_FIELDS = {
    "active",
    "state",
    "min_score",
    "max_score",
    "min_grade",
    "domain",
    "scope",
    "include_existing",
    "sequence",
    "company_id",
}


def confirm_above(env):
    """How many leads a rule change may move before it must be confirmed
    (system parameter ``prm_scoring.qualification_confirm_above``)."""
    value = env["ir.config_parameter"].sudo().get_param(CONFIRM_PARAM)
    try:
        return max(int(value), 0) if value else DEFAULT_CONFIRM_ABOVE
    except ValueError:
        return DEFAULT_CONFIRM_ABOVE


RULE_STATES = [
    ("eliminated", "Eliminated"),
    ("nurturing", "Nurturing"),
    ("qualified", "Qualified"),
]


class PrmQualificationRule(models.Model):
    """Agreed between marketing and sales: which leads go where, and what then."""

    _name = "prm.qualification.rule"
    _description = "PRM Qualification Rule"
    _order = "company_id, sequence, id"

    name = fields.Char(required=True)
    sequence = fields.Integer(default=10, help="The first matching rule decides.")
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    state = fields.Selection(RULE_STATES, required=True, string="Send to")
    min_score = fields.Float(string="Score at least")
    max_score = fields.Float(string="Score below", help="0 = no upper bound.")
    min_grade = fields.Selection(GRADES, string="Grade at least", help="A is best.")
    domain = fields.Char(string="Also matching", default="[]")
    scope = fields.Selection(
        [
            ("marketing", "Leads marketing still owns"),
            ("pipeline", "Also opportunities sales own"),
        ],
        default="marketing",
        required=True,
        string="Acts on",
        help="Leads marketing still owns: leads, and opportunities with no "
        "salesperson still in the first stage. Also opportunities sales own: "
        "any open opportunity, whoever owns it and whatever its stage. Won and "
        "lost deals, and leads sales accepted, are never touched.",
    )
    include_existing = fields.Boolean(
        string="Also leads older than PRM",
        help="By default, leads created before the company's first scoring rule "
        "set are left alone (they come from a pipeline that existed before PRM).",
    )
    # actions when a lead enters the state
    convert = fields.Boolean(string="Convert to opportunity")
    team_id = fields.Many2one("crm.team", string="Assign team")
    user_id = fields.Many2one("res.users", string="Assign salesperson")
    activity_type_id = fields.Many2one("mail.activity.type", string="Schedule activity")
    activity_summary = fields.Char()
    tag_ids = fields.Many2many("crm.tag", string="Add tags")
    lost_reason_id = fields.Many2one(
        "crm.lost.reason", string="Archive with lost reason", help="Eliminated leads."
    )
    lead_count = fields.Integer(compute="_compute_lead_count")

    _sql_constraints = [
        (
            "score_bounds",
            "check(min_score >= 0 and max_score >= 0)",
            "Score bounds cannot be negative.",
        ),
    ]

    @api.constrains("domain")
    def _check_domain(self):
        for rule in self:
            try:
                self.env["crm.lead"].search_count(
                    safe_eval(rule.domain or "[]"), limit=1
                )
            except Exception as exc:
                raise ValidationError(
                    self.env._(
                        "Qualification rule %(name)s has an invalid filter: %(error)s",
                        name=rule.name,
                        error=exc,
                    )
                ) from exc

    def _compute_lead_count(self):
        counts = dict(
            self.env["crm.lead"]
            .with_context(active_test=False)
            ._read_group(
                [("prm_qualification_rule_id", "in", self.ids)],
                ["prm_qualification_rule_id"],
                ["__count"],
            )
        )
        for rule in self:
            rule.lead_count = counts.get(rule, 0)

    def _match_domain(self):
        """Odoo domain of the leads this rule takes: score range, minimum
        grade (A is best) and the rule's own filter."""
        self.ensure_one()
        domain = []
        if self.min_score:
            domain.append(("prm_score", ">=", self.min_score))
        if self.max_score:
            domain = expression.AND(
                [
                    domain,
                    expression.OR(
                        [
                            [("prm_score", "<", self.max_score)],
                            [("prm_score", "=", False)],
                        ]
                    ),
                ]
            )
        if self.min_grade:
            grades = [g for g, _label in GRADES if g <= self.min_grade]
            domain.append(("prm_grade", "in", grades))
        return expression.AND([domain, safe_eval(self.domain or "[]")])

    @api.model_create_multi
    def create(self, vals_list):
        rules = super().create(vals_list)
        rules._prm_check_moves()
        return rules

    def write(self, vals):
        res = super().write(vals)
        if MATCH_FIELDS & set(vals):
            self._prm_check_moves()
        return res

    def _prm_check_moves(self):
        """An active rule change that would move more open leads now than the
        confirmation limit is refused: it must go through the preview."""
        if self.env.context.get("prm_qualification_confirmed"):
            return
        limit = confirm_above(self.env)
        for company in self.filtered("active").company_id:
            leads = (
                self.env["crm.lead"]
                .sudo()
                .search(
                    [
                        ("company_id", "in", [False, company.id]),
                        ("prm_qualification", "in", ["new", "nurturing"]),
                    ]
                )
            )
            moves = sum(
                len(movers) for _rule, _m, movers in leads._prm_qualification_plan()
            )
            if moves > limit:
                raise UserError(
                    self.env._(
                        "With this change the qualification rules would move "
                        "%(count)s open leads now (the limit without confirmation "
                        "is %(limit)s). Archive the rule, make the change, then "
                        "use Preview to see the leads and activate it.",
                        count=moves,
                        limit=limit,
                    )
                )

    def action_preview(self):
        """What the company's active rules, with these ones, would do now."""
        self.ensure_one()
        preview = self.env["prm.qualification.preview"].create(
            {
                "company_id": self.company_id.id,
                "rule_ids": [
                    fields.Command.set((self._rules_for(self.company_id) | self).ids)
                ],
            }
        )
        return preview.action_compute()

    @api.model
    def _rules_for(self, company):
        return self.search([("company_id", "=", company.id)])
