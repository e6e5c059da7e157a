# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import HttpCase, new_test_user, tagged

from ..engine import simulator


@tagged("post_install", "-at_install", "prm_scoring")
class TestPrmPropensityTour(HttpCase):
    """The model card's charts and a lead's engagement chart in a browser."""

    def setUp(self):
        super().setUp()
        self.env["crm.lead"].search([]).write({"active": False})
        scenario = simulator.Scenario(n=1500, days=240, horizon=30, seed=11)
        lead_of = self.env["prm.prospect.history"]._load(scenario)
        ruleset = self.env["prm.scoring.ruleset"]._get_active()
        self.model = self.env["prm.propensity.model"]._train(ruleset)
        self.assertEqual(self.model.state, "trained", self.model.message)
        open_ids = [int(i) for i in lead_of[scenario.is_open() & (lead_of > 0)]]
        self.leads = self.env["crm.lead"].browse(open_ids)
        self.leads._prm_rescore()
        # an open lead active lately
        self.lead = max(
            self.leads, key=lambda lead: lead.prm_last_seen or lead.create_date
        )
        self.manager = new_test_user(
            self.env,
            login="prm_card_manager",
            groups="sales_team.group_sale_manager,prm_tracking.group_prm_manager",
        )

    def test_model_card_charts(self):
        """The card says how the model compares with Odoo's PLS and draws
        its reliability diagram and lift chart from the trained numbers."""
        self.start_tour(
            f"/odoo/action-prm_scoring.prm_propensity_model_action/{self.model.id}",
            "prm_scoring_model_card_tour",
            login="prm_card_manager",
        )

    def test_lead_charts(self):
        """A lead shows its events per day and why it has its probability."""
        self.assertTrue(self.lead.prm_has_probability)
        self.start_tour(
            f"/odoo/action-crm.crm_lead_action_pipeline/{self.lead.id}",
            "prm_scoring_lead_charts_tour",
            login="prm_card_manager",
        )
