# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

VERDICTS = [
    ("better", "Better"),
    ("worse", "Worse"),
    ("no_evidence", "No evidence"),
    ("not_enough_data", "Not enough data"),
]


class PrmSourceQualityLine(models.TransientModel):
    """One source (or medium, campaign, site, referrer) of a source quality
    analysis: its leads' outcomes with confidence, and what they cost."""

    _name = "prm.source.quality.line"
    _inherit = "prm.conversion.mixin"
    _description = "PRM Source Quality: Line"
    _order = "rank, id"

    analysis_id = fields.Many2one(
        "prm.source.quality", required=True, ondelete="cascade"
    )
    currency_id = fields.Many2one(related="analysis_id.currency_id")
    rank = fields.Integer(help="By return on investment, then conversion.")
    name = fields.Char(readonly=True)
    leads = fields.Integer(readonly=True)
    qualified = fields.Integer(readonly=True)
    qualified_pct = fields.Float(string="Qualified (%)", readonly=True)
    accepted_pct = fields.Float(string="Accepted (%)", readonly=True)
    won = fields.Integer(readonly=True)
    lost_pct = fields.Float(string="Lost (%)", readonly=True)

    enough_data = fields.Boolean(readonly=True)
    verdict = fields.Selection(
        VERDICTS,
        readonly=True,
        help="Conversion against the rest of the leads analysed, by a "
        "two-proportion test at 5 %.",
    )
    first_fit = fields.Float(string="Fit at creation", readonly=True)
    first_score = fields.Float(string="Score at creation", readonly=True)
    fit = fields.Float(string="Fit now", readonly=True)
    score = fields.Float(string="Score now", readonly=True)
    days_to_qualify = fields.Float(string="Median days to qualify", readonly=True)
    days_to_win = fields.Float(string="Median days to win", readonly=True)
    won_revenue = fields.Monetary(readonly=True)
    avg_deal = fields.Monetary(string="Average deal", readonly=True)
    engaged_pct = fields.Float(string="Engaged in 30 days (%)", readonly=True)
    # costs (shown to those who may read them)
    cost = fields.Monetary(readonly=True)
    cost_per_lead = fields.Monetary(readonly=True)
    cost_per_qualified = fields.Monetary(readonly=True)
    cac = fields.Monetary(string="CAC", readonly=True, help="Cost per won customer.")
    roi = fields.Float(
        string="ROI (%)", readonly=True, help="(Won revenue - cost) / cost."
    )
    payback_months = fields.Float(
        string="Payback (months)",
        readonly=True,
        help="Cost / won revenue per month of the period.",
    )
    value_added = fields.Monetary(string="Value added", readonly=True)
    value_per_cost = fields.Float(
        string="Value added per unit of cost",
        readonly=True,
        help="Value created by stage progressions per unit of money spent.",
    )
    # which ratios exist (empty periods and missing costs give "n/a")
    has_cost = fields.Boolean(readonly=True)
    has_leads = fields.Boolean(readonly=True)
    has_qualified = fields.Boolean(readonly=True)
    has_cac = fields.Boolean(readonly=True)
    has_payback = fields.Boolean(readonly=True)
    has_deal = fields.Boolean(readonly=True)
