# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import PrmCommon


@tagged("post_install", "-at_install", "prm_tracking", "security")
class TestPrmTrackingSecurity(PrmCommon):
    def test_groups_implied_by_sales_groups(self):
        """Sales / User implies PRM user; Sales / Administrator implies PRM manager."""
        self.assertTrue(self.salesman.has_group("prm_tracking.group_prm_user"))
        self.assertFalse(self.salesman.has_group("prm_tracking.group_prm_manager"))
        self.assertTrue(self.sales_manager.has_group("prm_tracking.group_prm_manager"))
        self.assertFalse(self.employee.has_group("prm_tracking.group_prm_user"))

    def test_salesman_inserts_but_cannot_correct(self):
        """A salesperson records events but cannot edit or delete them."""
        event = (
            self.env["prm.event"]
            .with_user(self.salesman)
            .create({"event_type_id": self.page_view.id, "lead_id": self.lead.id})
        )
        with self.assertRaises(AccessError):
            event.write({"url": "https://example.com/changed"})
        with self.assertRaises(AccessError):
            event.unlink()
        event.with_user(self.sales_manager).write({"url": "https://example.com/ok"})
        self.assertEqual(event.url, "https://example.com/ok")

    def test_employee_without_sales_sees_nothing(self):
        """An employee without a sales group cannot read events."""
        self.env["prm.event"].create({"event_type_id": self.page_view.id})
        with self.assertRaises(AccessError):
            self.env["prm.event"].with_user(self.employee).search([])

    def test_multi_company_rule(self):
        """Events of a company the user is not in are invisible to them."""
        events = self.env["prm.event"].create(
            [
                {"event_type_id": self.page_view.id, "lead_id": self.lead.id},
                {"event_type_id": self.page_view.id, "lead_id": self.lead_2.id},
            ]
        )
        visible = (
            self.env["prm.event"]
            .with_user(self.salesman)
            .search([("id", "in", events.ids)])
        )
        self.assertEqual(visible, events[0])
