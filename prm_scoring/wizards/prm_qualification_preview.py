# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..models.prm_qualification_rule import confirm_above


class PrmQualificationPreview(models.TransientModel):
    """What qualification rules would do, before they do it: per rule, the
    open leads it would move now, and on the closed history how many of the
    leads it would have taken were won (precision) or how many won deals it
    would have eliminated or left nurturing (false negatives)."""

    _name = "prm.qualification.preview"
    _description = "PRM Qualification Preview"

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    rule_ids = fields.Many2many(
        "prm.qualification.rule",
        string="Rules",
        help="The rules tried, in their order: the company's active rules and "
        "the ones being activated.",
    )
    line_ids = fields.One2many(
        "prm.qualification.preview.line", "preview_id", readonly=True
    )
    move_count = fields.Integer(string="Leads moved now", readonly=True)
    confirm_above = fields.Integer(
        readonly=True, default=lambda self: confirm_above(self.env)
    )
    needs_confirmation = fields.Boolean(compute="_compute_needs_confirmation")
    confirmed = fields.Boolean(string="I understand these leads will move")

    @api.depends("company_id")
    def _compute_display_name(self):
        for preview in self:
            preview.display_name = self.env._(
                "Qualification preview, %(company)s", company=preview.company_id.name
            )

    @api.depends("move_count", "confirm_above")
    def _compute_needs_confirmation(self):
        for preview in self:
            preview.needs_confirmation = preview.move_count > preview.confirm_above

    def action_compute(self):
        """Fill the lines (set-based: one plan over the open leads, one
        search per rule over the closed ones)."""
        self.ensure_one()
        # the rules being activated are archived still
        rules = self.with_context(active_test=False).rule_ids.sorted(
            lambda r: (r.sequence, r.id)
        )
        Lead = self.env["crm.lead"].sudo().with_context(active_test=False)
        open_leads = Lead.search(
            [
                ("company_id", "in", [False, self.company_id.id]),
                ("active", "=", True),
                ("prm_qualification", "in", ["new", "nurturing"]),
            ]
        )
        plan = open_leads._prm_qualification_plan(rules=rules)
        history = self._history(rules)
        lines = []
        for rule, _matched, movers in plan:
            closed, won = history.get(rule.id, (0, 0))
            lines.append(
                {
                    "rule_id": rule.id,
                    "move_count": len(movers),
                    "lead_ids": [fields.Command.set(movers)],
                    "closed_count": closed,
                    "won_count": won,
                    "precision": 100.0 * won / closed if closed else 0.0,
                    "false_negatives": won if rule.state != "qualified" else 0,
                }
            )
        self.line_ids = [fields.Command.clear()] + [
            fields.Command.create(vals) for vals in lines
        ]
        self.move_count = sum(line["move_count"] for line in lines)
        return self._reopen()

    def _history(self, rules):
        """{rule id: (closed leads it would have taken, of which won)}: first
        matching rule wins, judged on the scores closed leads have now."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
            SELECT l.id, COALESCE(s.is_won, false)
              FROM crm_lead l LEFT JOIN crm_stage s ON s.id = l.stage_id
             WHERE (l.company_id IS NULL OR l.company_id = %s)
               AND (COALESCE(s.is_won, false) OR (NOT l.active AND l.probability = 0))
                """,
                self.company_id.id,
            )
        )
        won_of = dict(self.env.cr.fetchall())
        remaining = set(won_of)
        Lead = self.env["crm.lead"].sudo().with_context(active_test=False)
        history = {}
        for rule in rules:
            if not remaining:
                break
            found = set(
                Lead.search(rule._match_domain() + [("id", "in", list(remaining))]).ids
            )
            remaining -= found
            history[rule.id] = (len(found), sum(1 for i in found if won_of[i]))
        return history

    def action_apply(self):
        """Activate the previewed rules (confirmed when they move many
        leads) and qualify the open leads now."""
        self.ensure_one()
        self.env["prm.qualification.rule"].check_access("write")
        if self.needs_confirmation and not self.confirmed:
            raise UserError(
                self.env._(
                    "These rules move %(count)s leads now (more than %(limit)s): "
                    "tick the confirmation first.",
                    count=self.move_count,
                    limit=self.confirm_above,
                )
            )
        self.with_context(active_test=False).rule_ids.with_context(
            prm_qualification_confirmed=True
        ).write({"active": True})
        self.line_ids.lead_ids._prm_qualify()
        return {"type": "ir.actions.act_window_close"}

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": self.env._("Qualification preview"),
        }
