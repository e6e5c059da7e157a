# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import Form, HttpCase, tagged


@tagged("post_install", "-at_install", "prm_funnel")
class TestPrmFunnelTour(HttpCase):
    """The funnel analysis and the what-if simulator in a real browser."""

    def setUp(self):
        super().setUp()
        # only these leads exist in the period: 4 enter New, 2 reach
        # Qualified, 1 is won (New 50 %, Qualified 50 %, end to end 25 %)
        self.env["crm.lead"].search([]).write({"active": False})
        leads = self.env["crm.lead"].create(
            [
                {
                    "name": f"Tour lead {index}",
                    "type": "opportunity",
                    "stage_id": self.env.ref("crm.stage_lead1").id,
                    "expected_revenue": 1000.0,
                }
                for index in range(4)
            ]
        )
        leads[:2].write({"stage_id": self.env.ref("crm.stage_lead2").id})
        leads[0].action_set_won()

    def test_whatif_tour(self):
        """Menu -> analysis -> what-if with +10 points: the screen shows 36 %."""
        analysis = self.env["prm.funnel.analysis"].create({})
        analysis.action_compute()
        self.assertAlmostEqual(analysis.end_to_end, 25.0)
        whatif = Form(
            self.env["prm.funnel.whatif"].browse(analysis.action_what_if()["res_id"])
        )
        whatif.lift_kind = "absolute"
        whatif.lift_high = 10.0
        self.assertAlmostEqual(whatif.projected_high, 36.0)
        self.assertAlmostEqual(whatif.wins_high, 1.44)
        self.start_tour("/odoo", "prm_funnel_whatif_tour", login="admin")
