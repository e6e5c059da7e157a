# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date

from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged

from odoo.addons.account.tests.common import AccountTestInvoicingCommon


@tagged("post_install", "-at_install", "prm_funnel")
class TestPrmIncidenceInvoices(AccountTestInvoicingCommon):
    def test_incidence_from_invoices(self):
        """Revenue from posted customer invoices net of credit notes (drafts
        left out): 2026 60,000 - 1,000, 2025 39,000 -> new revenue 20,000;
        costs 3,000 -> 15 %."""
        company = self.env.company
        for move_type, amount, day in (
            ("out_invoice", 39000, date(2025, 3, 1)),
            ("out_invoice", 60000, date(2026, 2, 1)),
            ("out_refund", 1000, date(2026, 5, 1)),
        ):
            self.init_invoice(
                move_type, amounts=[amount], invoice_date=day, post=True, taxes=[]
            )
        self.init_invoice("out_invoice", amounts=[5000], invoice_date=date(2026, 6, 1))
        self.env["prm.acquisition.cost"].create(
            {
                "name": "Ads 2026",
                "amount": 3000,
                "company_id": company.id,
                "date_from": date(2026, 1, 1),
                "date_to": date(2026, 12, 31),
            }
        )
        form = Form(self.env["prm.cost.incidence"])
        form.year = 2026
        self.assertEqual(form.revenue_basis, "invoices")
        self.assertEqual((form.revenue, form.previous_revenue), (59000.0, 39000.0))
        self.assertEqual(form.new_revenue, 20000.0)
        self.assertAlmostEqual(form.incidence, 15.0)
        self.assertEqual(form.band, "within")
        form.revenue_basis = "won"  # no opportunity won in this company
        self.assertEqual(form.revenue, 0.0)
        self.assertFalse(form.has_incidence)

    def test_no_invoice_figures_without_invoice_rights(self):
        """A cost reader who may not read invoices gets won opportunities by
        default, and an error (not the invoices' sum) if asking for them."""
        user = new_test_user(
            self.env,
            login="prm_costs_no_invoices",
            groups="sales_team.group_sale_manager,prm_funnel.group_prm_costs",
        )
        wizard = self.env["prm.cost.incidence"].with_user(user).create({"year": 2026})
        self.assertEqual(wizard.revenue_basis, "won")
        with self.assertRaises(AccessError):
            wizard.revenue_basis = "invoices"
            wizard.flush_recordset()
            wizard._prm_revenue(date(2026, 1, 1), date(2026, 12, 31))
