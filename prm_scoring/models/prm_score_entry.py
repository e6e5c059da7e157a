# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

REASONS = [
    ("event", "New engagement"),
    ("rule_change", "Rule change"),
    ("decay", "Decay"),
    ("recompute", "Recompute"),
]


class PrmScoreEntry(models.Model):
    """Append-only ledger: each change of a lead's score of at least one point.

    Entries chain (each ``old_score`` is the previous entry's ``new_score``),
    so a lead's history reads back exactly.  Written by the scoring path only.
    """

    _name = "prm.score.entry"
    _description = "PRM Score Ledger Entry"
    _order = "computed_at desc, id desc"
    _rec_name = "lead_id"
    # written in bulk by SQL, never edited: no create/write user and date
    # (each would be one more foreign-key check per row); ``computed_at``
    # and ``user_id`` say when and by whom
    _log_access = False

    lead_id = fields.Many2one("crm.lead", required=True, ondelete="cascade", index=True)
    ruleset_id = fields.Many2one("prm.scoring.ruleset", ondelete="set null")
    # stored, so the multi-company rule filters a column, not a subquery over
    # every lead (minutes for the history list on a million leads)
    company_id = fields.Many2one(
        "res.company",
        compute="_compute_company_id",
        store=True,
        precompute=True,
        index="btree_not_null",
    )
    # the history lists newest first: an index, not a sort of every entry
    computed_at = fields.Datetime(required=True, index=True)
    old_score = fields.Float(digits=(5, 2))
    new_score = fields.Float(digits=(5, 2))
    delta = fields.Float(digits=(5, 2))
    reason = fields.Selection(REASONS, required=True)
    user_id = fields.Many2one(
        "res.users",
        string="Triggered by",
        ondelete="set null",
        help="The user whose action (or the scheduled job) led to the change.",
    )

    @api.depends("lead_id.company_id")
    def _compute_company_id(self):
        for entry in self:
            entry.company_id = entry.lead_id.company_id
