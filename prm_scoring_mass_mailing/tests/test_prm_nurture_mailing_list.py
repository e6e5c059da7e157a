# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import tagged

from odoo.addons.prm_tracking.tests.common import PrmCommon


@tagged("post_install", "-at_install", "prm_scoring")
class TestPrmNurtureMailingList(PrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["prm.scoring.ruleset"].search([]).write({"active": False})
        ruleset = cls.env["prm.scoring.ruleset"].create(
            {"name": "N rules", "fit_weight": 100, "engagement_weight": 0}
        )
        cls.env["prm.scoring.rule"].create(
            {
                "ruleset_id": ruleset.id,
                "name": "Website",
                "kind": "fit",
                "points": 30,
                "domain": "[('website', '!=', False)]",
            }
        )
        cls.mailing_list = cls.env["mailing.list"].create({"name": "PRM nurture"})
        cls.env["prm.qualification.rule"].create(
            {
                "name": "Warm: nurture by email",
                "state": "nurturing",
                "min_score": 20,
                "mailing_list_id": cls.mailing_list.id,
            }
        )

    def _lead(self, **vals):
        return self.env["crm.lead"].create(
            dict(
                {"name": "N lead", "type": "lead", "website": "https://n.example"},
                **vals,
            )
        )

    def test_nurtured_leads_join_the_list(self):
        """Nurtured leads with an email are subscribed to the rule's list, an
        existing contact with that email is reused, and leads without an email
        are left alone."""
        known = self.env["mailing.contact"].create(
            {"name": "Known", "email": "known@n.example"}
        )
        leads = (
            self._lead(email_from="New Person <new@n.example>", contact_name="New")
            + self._lead(email_from="known@n.example")
            + self._lead()
        )
        leads._prm_rescore()
        self.assertEqual(set(leads.mapped("prm_qualification")), {"nurturing"})
        subscribed = self.mailing_list.subscription_ids.filtered(
            lambda s: not s.opt_out
        ).contact_id
        self.assertEqual(
            sorted(subscribed.mapped("email_normalized")),
            ["known@n.example", "new@n.example"],
        )
        self.assertIn(known, subscribed)
        self.assertEqual(
            self.env["mailing.contact"].search_count(
                [("email_normalized", "=", "known@n.example")]
            ),
            1,
        )

    def test_opted_out_stays_out(self):
        """Someone who opted out of the list is not subscribed again."""
        contact = self.env["mailing.contact"].create(
            {
                "name": "Gone",
                "email": "gone@n.example",
                "subscription_ids": [
                    (0, 0, {"list_id": self.mailing_list.id, "opt_out": True})
                ],
            }
        )
        self._lead(email_from="gone@n.example")._prm_rescore()
        subscription = self.mailing_list.subscription_ids.filtered(
            lambda s: s.contact_id == contact
        )
        self.assertEqual(len(subscription), 1)
        self.assertTrue(subscription.opt_out)
