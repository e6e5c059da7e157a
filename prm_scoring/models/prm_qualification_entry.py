# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from ..tools import decision_facts
from .crm_lead import GRADES, QUALIFICATION

# fields the database triggers set (tools/decision_facts.py): on the moves,
# on their leads
MOVE_FACTS = ["lead_won_at", "company_id"]
LEAD_FACTS = ["prm_qualified_on", "prm_accepted"]


class PrmQualificationEntry(models.Model):
    """Append-only log of qualification moves: which rule (or which
    salesperson) sent a lead from one state to another, when, and at what score.
    The qualification report reads it to count each rule's decisions and the
    leads that were won anyway after being eliminated or nurtured."""

    _name = "prm.qualification.entry"
    _description = "PRM Qualification Move"
    _order = "date desc, id desc"
    _rec_name = "lead_id"

    lead_id = fields.Many2one("crm.lead", required=True, ondelete="cascade", index=True)
    rule_id = fields.Many2one(
        "prm.qualification.rule",
        ondelete="set null",
        index="btree_not_null",
        help="Empty when a salesperson accepted or rejected the lead.",
    )
    from_state = fields.Selection(QUALIFICATION, string="From", required=True)
    to_state = fields.Selection(QUALIFICATION, string="To", required=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    user_id = fields.Many2one("res.users", string="By", default=lambda s: s.env.user)
    score = fields.Float(digits=(5, 2))
    grade = fields.Selection(GRADES)
    reason = fields.Text()
    company_id = fields.Many2one("res.company", index=True)
    lead_won_at = fields.Datetime(
        string="Lead won on",
        readonly=True,
        help="While the lead is won: when it was closed (kept by database "
        "triggers, see tools/decision_facts.py).",
    )

    @api.model_create_multi
    def create(self, vals_list):
        moves = super().create(vals_list)
        # set by the database triggers on insert
        moves.invalidate_recordset(MOVE_FACTS)
        moves.lead_id.invalidate_recordset(LEAD_FACTS)
        return moves

    def write(self, vals):
        leads = self.lead_id
        res = super().write(vals)
        if {"lead_id", "to_state", "date"} & set(vals):
            self.flush_recordset()  # the triggers run on the UPDATE
            self.invalidate_recordset(MOVE_FACTS)
            (leads | self.lead_id).invalidate_recordset(LEAD_FACTS)
        return res

    def unlink(self):
        leads = self.lead_id
        res = super().unlink()
        leads.invalidate_recordset(LEAD_FACTS)
        return res

    def init(self):
        self.env.cr.execute(decision_facts.create_sql())
        self._prm_sync_facts()

    @api.model
    def _prm_sync_facts(self):
        """The stored facts of the moves and their leads computed again for
        all of them; the triggers keep them otherwise."""
        self.env.flush_all()
        self.env.cr.execute(decision_facts.sync_sql())
        self.invalidate_model(MOVE_FACTS)
        self.env["crm.lead"].invalidate_model(LEAD_FACTS)
