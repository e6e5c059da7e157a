"""Cross-addon scenarios on a database where the three addons are installed.

Run by pytest-odoo (the test command points it at its throw-away database).
"""

from datetime import date

from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged


# outside an addon, Odoo's test tags must be set explicitly
@tagged("standard", "post_install", "-at_install")
class TestPrmStack(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = new_test_user(
            cls.env, login="x_prm_salesman", groups="sales_team.group_sale_salesman"
        )
        cls.manager = new_test_user(
            cls.env, login="x_prm_manager", groups="sales_team.group_sale_manager"
        )
        cls.source = cls.env["utm.source"].create({"name": "Cross-addon source"})

    def test_all_three_addons_installed(self):
        """crm and the three PRM addons are installed together."""
        modules = self.env["ir.module.module"].search(
            [("name", "in", ["crm", "prm_tracking", "prm_scoring", "prm_funnel"])]
        )
        self.assertEqual(set(modules.mapped("state")), {"installed"})
        self.assertEqual(len(modules), 4)

    def test_menus_under_crm(self):
        """The addons add menus under CRM > Configuration > PRM and CRM > Reporting."""
        config = self.env.ref("prm_tracking.prm_config_menu")
        self.assertEqual(config.parent_id, self.env.ref("crm.crm_menu_config"))
        children = {getattr(m.action, "res_model", None) for m in config.child_id}
        self.assertLessEqual(
            {"prm.event.type", "prm.scoring.ruleset", "prm.acquisition.cost"}, children
        )
        reporting = self.env.ref("crm.crm_menu_report").child_id
        self.assertIn(self.env.ref("prm_tracking.prm_event_menu_report"), reporting)
        self.assertIn(
            self.env.ref("prm_funnel.prm_acquisition_cost_menu_report"), reporting
        )

    def test_access_matrix_across_addons(self):
        """One PRM group pair rules all addons: sales read rules, managers costs."""
        self.env["prm.acquisition.cost"].create(
            {
                "name": "Fair",
                "date_from": date(2026, 1, 1),
                "date_to": date(2026, 1, 2),
                "amount": 10,
                "source_id": self.source.id,
            }
        )
        self.env["prm.scoring.ruleset"].with_user(self.salesman).search([])
        with self.assertRaises(AccessError):
            self.env["prm.acquisition.cost"].with_user(self.salesman).search([])
        self.assertTrue(
            self.env["prm.acquisition.cost"].with_user(self.manager).search_count([])
        )
        event_type = self.env.ref("prm_tracking.prm_event_type_email_click")
        lead = self.env["crm.lead"].create(
            {"name": "Cross lead", "user_id": self.salesman.id}
        )
        event = (
            self.env["prm.event"]
            .with_user(self.salesman)
            .create(
                {
                    "event_type_id": event_type.id,
                    "lead_id": lead.id,
                    "source_id": self.source.id,
                }
            )
        )
        self.assertEqual(event.channel, "email")
