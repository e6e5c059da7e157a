# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, tagged

from odoo.addons.prm_tracking.tests.common import PrmCommon


@tagged("post_install", "-at_install", "prm_scoring")
class TestPrmScoringRuleset(PrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Ruleset = cls.env["prm.scoring.ruleset"]
        # start from a known state whatever the database holds (e.g. demo data)
        Ruleset.search([("company_id", "in", (cls.company + cls.company_2).ids)]).write(
            {"active": False}
        )
        cls.ruleset = Ruleset.create(
            {"name": "Test rules", "company_id": cls.company.id}
        )

    def test_weights_must_add_up(self):
        """Fit and engagement weights that do not add up to 100 are refused."""
        with self.assertRaises(ValidationError):
            self.ruleset.write({"fit_weight": 70, "engagement_weight": 40})
        self.ruleset.write({"fit_weight": 70, "engagement_weight": 30})
        self.assertEqual(self.ruleset.fit_weight, 70)

    def test_one_active_per_company(self):
        """A second active rule set per company is refused; another company is fine."""
        Ruleset = self.env["prm.scoring.ruleset"]
        with self.assertRaises(ValidationError):
            Ruleset.create({"name": "Duplicate", "company_id": self.company.id})
        other = Ruleset.create({"name": "Other", "company_id": self.company_2.id})
        self.assertEqual(Ruleset._get_active(self.company_2), other)
        self.assertEqual(Ruleset._get_active(self.company), self.ruleset)

    def test_new_version(self):
        """'New version' archives the current rule set and activates a numbered copy."""
        self.ruleset.write({"fit_weight": 30, "engagement_weight": 70})
        action = self.ruleset.action_new_version()
        new = self.env["prm.scoring.ruleset"].browse(action["res_id"])
        self.assertFalse(self.ruleset.active)
        self.assertTrue(new.active)
        self.assertEqual(new.version, self.ruleset.version + 1)
        self.assertEqual((new.fit_weight, new.engagement_weight), (30, 70))
        self.assertEqual(self.env["prm.scoring.ruleset"]._get_active(), new)

    def test_form_defaults(self):
        """The form proposes a valid 50/50 rule set in the current company."""
        self.ruleset.active = False
        with Form(self.env["prm.scoring.ruleset"]) as form:
            form.name = "From the form"
        ruleset = form.save()
        self.assertEqual((ruleset.fit_weight, ruleset.engagement_weight), (50, 50))
        self.assertEqual(ruleset.company_id, self.env.company)

    def test_salesman_reads_but_cannot_edit(self):
        """Salespeople can read the rule set but not change it."""
        ruleset = self.ruleset.with_user(self.salesman)
        self.assertEqual(ruleset.name, "Test rules")
        with self.assertRaises(AccessError):
            ruleset.write({"horizon_days": 60})

    def test_settings_edit_active_ruleset(self):
        """CRM settings show and change the active rule set's weights and
        horizon (the two weights always add up to 100), and set the default
        half-life of new engagement rules."""
        ruleset = self.ruleset
        form = Form(self.env["res.config.settings"])
        self.assertEqual(form.prm_ruleset_id, ruleset)
        form.prm_fit_weight = 70
        self.assertEqual(form.prm_engagement_weight, 30)
        form.prm_horizon_days = 60
        form.prm_default_half_life = 10
        form.save().execute()
        self.assertEqual(
            (ruleset.fit_weight, ruleset.engagement_weight, ruleset.horizon_days),
            (70, 30, 60),
        )
        rule = self.env["prm.scoring.rule"].create(
            {
                "ruleset_id": ruleset.id,
                "name": "Views",
                "kind": "engagement",
                "event_type_id": self.env.ref(
                    "prm_tracking.prm_event_type_page_view"
                ).id,
                "points": 1,
            }
        )
        self.assertEqual(rule.half_life_days, 10)


@tagged("post_install", "-at_install", "prm_scoring")
class TestPrmDefaultRuleset(PrmCommon):
    def test_scores_without_configuration(self):
        """A plain install gives each company a working engagement rule set:
        a lead is scored from its first event, and shows no probability
        (rather than 0) while no conversion model exists."""
        ruleset = self.env["prm.scoring.ruleset"]._get_active(self.company)
        self.assertTrue(ruleset, "no rule set after a plain install")
        self.assertEqual((ruleset.fit_weight, ruleset.engagement_weight), (0, 100))
        codes = set(ruleset.engagement_rule_ids.event_type_id.mapped("code"))
        self.assertLessEqual({"page_view", "registration", "email_click"}, codes)
        lead = self.env["crm.lead"].create({"name": "Zero conf", "type": "lead"})
        self.env["prm.event"].create(
            {
                "event_type_id": self.env.ref(
                    "prm_tracking.prm_event_type_registration"
                ).id,
                "lead_id": lead.id,
            }
        )
        self.assertGreater(lead.prm_score, 0)
        self.assertFalse(lead.prm_has_probability)
