# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install", "prm_scoring")
class TestPrmScoringTour(HttpCase):
    """The lead's Score tab and the sales hand-off in a real browser."""

    def setUp(self):
        super().setUp()
        self.env["prm.scoring.ruleset"].search([]).write({"active": False})
        ruleset = self.env["prm.scoring.ruleset"].create(
            {"name": "Tour rules", "fit_weight": 100, "engagement_weight": 0}
        )
        self.env["prm.scoring.rule"].create(
            {
                "ruleset_id": ruleset.id,
                "name": "Has phone",
                "kind": "fit",
                "points": 80,
                "domain": "[('phone', '!=', False)]",
            }
        )
        self.salesman = new_test_user(
            self.env, login="prm_tour_sales", groups="sales_team.group_sale_salesman"
        )
        self.env["prm.qualification.rule"].search([]).write({"active": False})
        self.env["prm.qualification.rule"].create(
            {
                "name": "Hot to sales",
                "state": "qualified",
                "min_score": 70,
                "convert": True,
                "user_id": self.salesman.id,
            }
        )
        self.lead = self.env["crm.lead"].create(
            {"name": "Tour lead", "type": "lead", "phone": "+32 2 000 00 00"}
        )
        self.lead._prm_rescore()

    def test_score_tab_and_reject(self):
        """A salesperson sees why the lead scores 80, then rejects it with a reason."""
        self.assertEqual(
            (self.lead.prm_qualification, self.lead.user_id),
            ("qualified", self.salesman),
        )
        self.start_tour(
            f"/odoo/action-crm.crm_lead_action_pipeline/{self.lead.id}",
            "prm_scoring_lead_tour",
            login="prm_tour_sales",
        )
        self.env.invalidate_all()
        self.assertEqual(self.lead.prm_qualification, "rejected")
        self.assertIn(
            "Student, no budget", " ".join(self.lead.message_ids.mapped("body"))
        )
