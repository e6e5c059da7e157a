# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    prm_min_sample = fields.Integer(
        string="Minimum leads for a conversion rate",
        config_parameter="prm_funnel.min_sample",
        default=30,
        help="Sources with fewer leads show 'not enough data' instead of a verdict.",
    )
