# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from .crm_lead import GRADES, QUALIFICATION


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
