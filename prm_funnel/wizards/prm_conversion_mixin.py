# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from ..engine import interval_text


class PrmConversionMixin(models.AbstractModel):
    """A conversion rate with its 95% interval, and the two written as
    people read them ("23.2 % (21.4 – 25.0)")."""

    _name = "prm.conversion.mixin"
    _description = "PRM: conversion with its interval"

    conversion = fields.Float(string="Conversion (%)", readonly=True)
    conversion_low = fields.Float(string="95% low (%)", readonly=True)
    conversion_high = fields.Float(string="95% high (%)", readonly=True)
    conversion_interval = fields.Char(
        string="Conversion (95%)",
        compute="_compute_conversion_interval",
        help="Won / leads, with its 95% interval (Wilson).",
    )

    @api.depends("conversion", "conversion_low", "conversion_high")
    def _compute_conversion_interval(self):
        for record in self:
            record.conversion_interval = interval_text(
                record.conversion, record.conversion_low, record.conversion_high
            )
