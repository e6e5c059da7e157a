# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class PrmInterest(models.Model):
    """A topic a prospect declared an interest in (at registration, in a form)."""

    _name = "prm.interest"
    _description = "PRM Declared Interest"
    _order = "name"

    name = fields.Char(required=True, translate=True)
    color = fields.Integer()
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ("name_unique", "unique(name)", "An interest with this name already exists."),
    ]
