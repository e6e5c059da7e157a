# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The one SQL definition of a person who must not be tracked."""

from odoo.tools import SQL


def untrackable(partner, lead):
    """SQL condition: the partner or lead row (table aliases, either may be the
    NULL row of a LEFT JOIN) is do-not-track or has a blacklisted email."""
    return SQL(
        "(%(p)s.prm_do_not_track IS TRUE OR %(l)s.prm_do_not_track IS TRUE "
        "OR EXISTS (SELECT 1 FROM mail_blacklist b WHERE b.active "
        "AND b.email IN (%(p)s.email_normalized, %(l)s.email_normalized)))",
        p=SQL.identifier(partner),
        l=SQL.identifier(lead),
    )
