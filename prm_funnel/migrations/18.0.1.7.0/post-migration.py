# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""18.0.1.7.0: the salesperson rules of the Funnel and Valued Progression
reports read the stays' "lead's salesperson now" and "lead unassigned now"
(the same stays as before), so that the pivots' sums answer a salesperson's
calls. The rules are ``noupdate``: those still as shipped are changed here."""

from odoo import SUPERUSER_ID, api

FORMER = "[('lead_id.user_id', 'in', [user.id, False])]"
NOW = "['|', ('lead_user_id', '=', user.id), ('lead_unassigned', '=', True)]"


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    for report in ("funnel", "value"):
        rule = env.ref(
            f"prm_funnel.prm_{report}_report_rule_personal_lead",
            raise_if_not_found=False,
        )
        if rule and rule.domain_force == FORMER:
            rule.domain_force = NOW
