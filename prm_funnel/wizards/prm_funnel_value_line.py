# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class PrmFunnelValueLine(models.TransientModel):
    """Valued progression of one source (or medium, or campaign)."""

    _name = "prm.funnel.value.line"
    _description = "PRM Funnel Analysis: Valued Progression"
    _order = "won_revenue desc, initial_value desc, id"

    analysis_id = fields.Many2one(
        "prm.funnel.analysis", required=True, ondelete="cascade"
    )
    name = fields.Char(string="Source", readonly=True)
    currency_id = fields.Many2one(related="analysis_id.currency_id")
    leads = fields.Integer(readonly=True)
    initial_value = fields.Monetary(readonly=True)
    value_added = fields.Monetary(string="Added by progressions", readonly=True)
    value_lost = fields.Monetary(readonly=True)
    won_revenue = fields.Monetary(readonly=True)
    won_over_initial = fields.Float(
        string="Won / initial value",
        readonly=True,
        help="Won revenue divided by the value at creation: what the funnel "
        "made of what marketing brought in (empty without initial value).",
    )
    has_ratio = fields.Boolean(readonly=True)
