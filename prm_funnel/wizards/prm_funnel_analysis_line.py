# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class PrmFunnelAnalysisLine(models.TransientModel):
    """One stage of a funnel analysis."""

    _name = "prm.funnel.analysis.line"
    _description = "PRM Funnel Analysis: Stage"
    _order = "sequence, id"

    analysis_id = fields.Many2one(
        "prm.funnel.analysis", required=True, ondelete="cascade"
    )
    sequence = fields.Integer()
    stage_id = fields.Many2one("crm.stage", readonly=True)
    entered = fields.Integer(readonly=True, help="Stays that began in the stage.")
    reached = fields.Integer(
        readonly=True, help="Leads that were in the stage or further at some point."
    )
    advanced = fields.Integer(readonly=True)
    regressed = fields.Integer(readonly=True)
    won = fields.Integer(readonly=True)
    lost = fields.Integer(readonly=True)
    still_open = fields.Integer(string="Still there", readonly=True)
    conversion_next = fields.Float(string="To next stage (%)", readonly=True)
    conversion_won = fields.Float(string="To won (%)", readonly=True)
    drop_off = fields.Float(string="Drop-off (%)", readonly=True)
    has_rates = fields.Boolean(readonly=True, help="False: nobody reached the stage.")
    median_days = fields.Float(string="Median days", readonly=True)
    mean_days = fields.Float(string="Mean days", readonly=True)
