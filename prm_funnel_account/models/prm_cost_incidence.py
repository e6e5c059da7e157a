# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models
from odoo.tools import SQL


class PrmCostIncidence(models.TransientModel):
    _inherit = "prm.cost.incidence"

    revenue_basis = fields.Selection(
        selection_add=[("invoices", "Posted customer invoices (untaxed)")],
        ondelete={"invoices": "set default"},
        default=lambda self: "invoices"
        if self.env["account.move"].has_access("read")
        else "won",
    )

    def _prm_revenue(self, date_from, date_to):
        """Posted customer invoices minus credit notes, untaxed, in the
        company currency, by invoice date."""
        if self.revenue_basis != "invoices":
            return super()._prm_revenue(date_from, date_to)
        # the sum is read in SQL: only for users who may read invoices
        self.env["account.move"].check_access("read")
        self.env["account.move"].flush_model()
        self.env.cr.execute(
            SQL(
                """
            SELECT COALESCE(sum(amount_untaxed_signed), 0) FROM account_move
             WHERE state = 'posted' AND move_type IN ('out_invoice', 'out_refund')
               AND company_id = %s AND invoice_date BETWEEN %s AND %s
                """,
                self.company_id.id,
                date_from,
                date_to,
            )
        )
        return float(self.env.cr.fetchone()[0])
