# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

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

    def test_prm_user_without_sales_sees_no_lead_s(self):
        """A PRM user without Sales rights reads no lead, so no event or
        visitor of one; anonymous ones stay visible."""
        user = new_test_user(
            self.env, login="prm_only_user", groups="prm_tracking.group_prm_user"
        )
        self.assertFalse(user.has_group("sales_team.group_sale_salesman"))
        visitor = self.env["prm.visitor"].create(
            {
                "token": "v-prm-only",
                "site_id": self.env["prm.tracking.site"].create({"name": "S"}).id,
            }
        )
        on_lead, anonymous = self.env["prm.event"].create(
            [
                {"event_type_id": self.page_view.id, "lead_id": self.lead.id},
                {"event_type_id": self.page_view.id, "visitor_id": visitor.id},
            ]
        )
        visitor.lead_id = self.lead
        Event = self.env["prm.event"].with_user(user)
        self.assertEqual(
            Event.search([("id", "in", (on_lead | anonymous).ids)]), anonymous
        )
        self.assertFalse(
            self.env["prm.visitor"].with_user(user).search([("id", "=", visitor.id)])
        )

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

    def test_salesman_sees_events_of_leads_they_can_read(self):
        """Salespeople see events of own or unassigned leads, not others' leads."""
        other = new_test_user(
            self.env, login="prm_other_sales", groups="sales_team.group_sale_salesman"
        )
        other_lead = self.env["crm.lead"].create(
            {"name": "Other's lead", "user_id": other.id}
        )
        free_lead = self.env["crm.lead"].create({"name": "Free lead", "user_id": False})
        events = self.env["prm.event"].create(
            [
                {"event_type_id": self.page_view.id, "lead_id": lead.id}
                for lead in (self.lead, other_lead, free_lead)
            ]
        )
        anonymous = self.env["prm.event"].create({"event_type_id": self.page_view.id})
        visible = (
            self.env["prm.event"]
            .with_user(self.salesman)
            .search([("id", "in", (events + anonymous).ids)])
        )
        self.assertEqual(visible, events[0] + events[2] + anonymous)
        all_visible = (
            self.env["prm.event"]
            .with_user(self.sales_manager)
            .search([("id", "in", events.ids)])
        )
        self.assertEqual(all_visible, events)

    def test_portal_and_public_see_nothing(self):
        """Portal and public users have no access to events, visitors or sites."""
        portal = new_test_user(self.env, login="prm_portal", groups="base.group_portal")
        public = self.env.ref("base.public_user")
        for user in (portal, public):
            for model in ("prm.event", "prm.visitor", "prm.tracking.site"):
                with self.assertRaises(AccessError):
                    self.env[model].with_user(user).search([])

    def test_sites_for_managers_only(self):
        """Only PRM managers read and configure tracking sites (they hold keys)."""
        self.env["prm.tracking.site"].create({"name": "Secret site"})
        with self.assertRaises(AccessError):
            self.env["prm.tracking.site"].with_user(self.salesman).search([])
        sites = self.env["prm.tracking.site"].with_user(self.sales_manager).search([])
        self.assertIn("Secret site", sites.mapped("name"))

    def test_salesman_sees_visitors_of_leads_they_can_read(self):
        """Salespeople see anonymous visitors and those of own or unassigned leads."""
        other = new_test_user(
            self.env,
            login="prm_other_visitors",
            groups="sales_team.group_sale_salesman",
        )
        other_lead = self.env["crm.lead"].create(
            {"name": "Other's lead", "user_id": other.id}
        )
        site = self.env["prm.tracking.site"].create({"name": "Visitors site"})
        visitors = self.env["prm.visitor"].create(
            [
                {"token": f"v-{index}", "site_id": site.id, "lead_id": lead.id}
                for index, lead in enumerate((self.lead, other_lead))
            ]
            + [{"token": "v-anonymous", "site_id": site.id}]
        )
        visible = (
            self.env["prm.visitor"]
            .with_user(self.salesman)
            .search([("id", "in", visitors.ids)])
        )
        self.assertEqual(visible, visitors[0] + visitors[2])
        self.assertEqual(
            self.env["prm.visitor"]
            .with_user(self.sales_manager)
            .search([("id", "in", visitors.ids)]),
            visitors,
        )
