# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""18.0.1.3.0: score ledger entries store their lead's company (the
multi-company rule then filters a column instead of a subquery over every
lead). Filled here in one statement, so the update does not compute it entry
by entry."""


def migrate(cr, version):
    cr.execute("ALTER TABLE prm_score_entry ADD COLUMN IF NOT EXISTS company_id int4")
    cr.execute(
        """
        UPDATE prm_score_entry e SET company_id = l.company_id
          FROM crm_lead l
         WHERE l.id = e.lead_id AND e.company_id IS NULL
        """
    )
