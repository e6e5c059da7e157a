# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    prm_retention_days = fields.Integer(
        string="Keep engagement events (days)",
        config_parameter="prm_tracking.retention_days",
        default=730,
        help="Events older than this are deleted every night; 0 keeps them forever.",
    )
