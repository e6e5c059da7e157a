# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class PrmQualificationRule(models.Model):
    _inherit = "prm.qualification.rule"

    mailing_list_id = fields.Many2one(
        "mailing.list",
        string="Add to mailing list",
        ondelete="set null",
        help="Nurtured leads with an email join this list (people who opted "
        "out of it stay out).",
    )
