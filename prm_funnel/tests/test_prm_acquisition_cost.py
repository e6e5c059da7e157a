# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date

from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from odoo.addons.prm_tracking.tests.common import PrmCommon


@tagged("post_install", "-at_install", "prm_funnel")
class TestPrmAcquisitionCost(PrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.source = cls.env["utm.source"].create({"name": "PRM test source"})
        cls.cost = cls.env["prm.acquisition.cost"].create(
            {
                "name": "Ads in March",
                "date_from": date(2026, 3, 1),
                "date_to": date(2026, 3, 31),
                "amount": 3100.0,
                "source_id": cls.source.id,
            }
        )

    def test_period_must_be_ordered(self):
        """A cost ending before it starts is refused and nothing is stored."""
        with self.assertRaises(ValidationError):
            self.cost.write({"date_to": date(2026, 2, 1)})
        self.assertEqual(self.cost.date_to, date(2026, 3, 31))

    def test_negative_amount_refused(self):
        """A negative cost is refused by the database."""
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            with self.env.cr.savepoint():
                self.cost.write({"amount": -1})
                self.env.flush_all()

    def test_daily_amount_and_currency(self):
        """The cost is spread over its days and kept in the company currency."""
        self.assertAlmostEqual(self.cost._daily_amount(), 100.0)
        self.assertEqual(self.cost.currency_id, self.company.currency_id)

    def test_form_entry(self):
        """A cost entered in the form defaults to marketing in the current company."""
        with Form(self.env["prm.acquisition.cost"]) as form:
            form.name = "Trade fair"
            form.date_from = date(2026, 5, 1)
            form.date_to = date(2026, 5, 3)
            form.amount = 900
        cost = form.save()
        self.assertEqual((cost.kind, cost.company_id), ("marketing", self.env.company))

    def test_salesman_cannot_read_costs(self):
        """Costs are hidden from salespeople and open to sales managers."""
        with self.assertRaises(AccessError):
            self.env["prm.acquisition.cost"].with_user(self.salesman).search([])
        costs = (
            self.env["prm.acquisition.cost"]
            .with_user(self.sales_manager)
            .search([("id", "=", self.cost.id)])
        )
        self.assertEqual(costs, self.cost)
