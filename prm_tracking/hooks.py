# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tools import SQL

from .tools.engagement_rollup import DROP
from .tools.indexes import email_index_name


def uninstall_hook(env):
    """Drop the indexes prm_tracking created on Odoo's tables (those of the
    models carrying the person mixin), and the Engagement report's counts
    with their triggers (one of them is on crm_lead)."""
    env.cr.execute(SQL(DROP))
    for name in env["prm.person.mixin"]._inherit_children:
        table = env[name]._table
        env.cr.execute(
            SQL("DROP INDEX IF EXISTS %s", SQL.identifier(email_index_name(table)))
        )
