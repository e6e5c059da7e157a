# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import random
from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from odoo.addons.prm_tracking.tests.common import PrmIngestCommon

NOON = datetime(2026, 6, 15, 12, 0, 0)


@tagged("post_install", "-at_install", "prm_scoring")
class TestPrmScoringRule(PrmIngestCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Ruleset = cls.env["prm.scoring.ruleset"]
        Ruleset.search([("company_id", "=", cls.company.id)]).write({"active": False})
        cls.ruleset = Ruleset.create(
            {
                "name": "Rules under test",
                "fit_weight": 40,
                "engagement_weight": 60,
                "fit_cap": 50,
                "engagement_cap": 40,
            }
        )
        types = {t.code: t for t in cls.env["prm.event.type"].search([])}
        cls.env["prm.scoring.rule"].create(
            [
                {
                    "ruleset_id": cls.ruleset.id,
                    "name": "Belgium",
                    "kind": "fit",
                    "points": 30,
                    "domain": "[('country_id.code', '=', 'BE')]",
                },
                {
                    "ruleset_id": cls.ruleset.id,
                    "name": "Personal email",
                    "kind": "fit",
                    "points": -10,
                    "domain": "[('email_from', 'ilike', '@gmail.com')]",
                },
                {
                    "ruleset_id": cls.ruleset.id,
                    "name": "Pricing page",
                    "kind": "engagement",
                    "event_type_id": types["page_view"].id,
                    "points": 5,
                    "half_life_days": 14,
                    "max_points": 20,
                    "url_pattern": "*/pricing*",
                },
                {
                    "ruleset_id": cls.ruleset.id,
                    "name": "Email click",
                    "kind": "engagement",
                    "event_type_id": types["email_click"].id,
                    "points": 8,
                    "half_life_days": 30,
                },
                {
                    "ruleset_id": cls.ruleset.id,
                    "name": "Unsubscribe",
                    "kind": "engagement",
                    "event_type_id": types["unsubscribe"].id,
                    "points": -15,
                },
            ]
        )
        cls.be_lead = cls.env["crm.lead"].create(
            {
                "name": "Belgian prospect",
                "email_from": "be@example.com",
                "country_id": cls.env.ref("base.be").id,
            }
        )

    def test_rules_to_fields(self):
        """Fit and engagement rules give the documented score, grade and parts."""
        with freeze_time(NOON):
            self.ingest(
                [
                    self._event(
                        email="be@example.com", url="https://x.com/pricing", at=NOON
                    ),
                    self._event(
                        email="be@example.com", url="https://x.com/blog", at=NOON
                    ),
                    self._event("email_click", email="be@example.com", at=NOON),
                ]
            )
        lead = self.be_lead
        # fit 30/50 = 60; engagement (5 + 8)/40 = 32.5; 0.4*60 + 0.6*32.5 = 43.5
        self.assertEqual((lead.prm_fit_score, lead.prm_grade), (60.0, "B"))
        self.assertEqual(lead.prm_engagement_score, 32.5)
        self.assertEqual(lead.prm_score, 43.5)
        self.assertEqual(lead.prm_score_updated_at, NOON)

    def test_decay_over_time(self):
        """Scores decay as time passes when the daily recompute runs."""
        with freeze_time(NOON):
            self.ingest([self._event("email_click", email="be@example.com", at=NOON)])
        self.assertEqual(self.be_lead.prm_engagement_score, 20.0)  # 8 / 40
        with freeze_time(NOON + timedelta(days=30)):
            self.env["crm.lead"]._cron_prm_rescore_all()
        self.assertEqual(self.be_lead.prm_engagement_score, 10.0)  # half-life 30 days

    def test_incremental_equals_full_recompute(self):
        """Scores reached event by event equal a full recompute at the same instant."""
        rnd = random.Random(42)
        leads = self.env["crm.lead"].create(
            [
                {
                    "name": f"Random lead {i}",
                    "email_from": f"r{i}@{rnd.choice(['gmail.com', 'acme.com'])}",
                    "country_id": rnd.choice([self.env.ref("base.be").id, False]),
                }
                for i in range(12)
            ]
        )
        with freeze_time(NOON):
            for _batch in range(8):
                events = []
                for _i in range(rnd.randint(1, 15)):
                    lead = rnd.choice(leads)
                    events.append(
                        self._event(
                            rnd.choice(["page_view", "email_click", "unsubscribe"]),
                            email=lead.email_from,
                            url=rnd.choice(
                                ["https://x.com/pricing", "https://x.com/a"]
                            ),
                            at=NOON - timedelta(days=rnd.uniform(0, 60)),
                        )
                    )
                self.ingest(events)
            incremental = {
                lead.id: (lead.prm_fit_score, lead.prm_engagement_score, lead.prm_score)
                for lead in leads
            }
            self.env["crm.lead"]._cron_prm_rescore_all()
        leads.invalidate_recordset()
        full = {
            lead.id: (lead.prm_fit_score, lead.prm_engagement_score, lead.prm_score)
            for lead in leads
        }
        self.assertEqual(incremental, full)
        self.assertTrue(any(score[2] > 0 for score in full.values()))

    def test_rule_validation(self):
        """An engagement rule needs an event type; a fit rule needs a valid filter."""
        with self.assertRaises(ValidationError):
            self.env["prm.scoring.rule"].create(
                {
                    "ruleset_id": self.ruleset.id,
                    "name": "x",
                    "kind": "engagement",
                    "points": 1,
                }
            )
        with self.assertRaises(ValidationError):
            self.env["prm.scoring.rule"].create(
                {
                    "ruleset_id": self.ruleset.id,
                    "name": "y",
                    "kind": "fit",
                    "points": 1,
                    "domain": "[('no_such_field', '=', 1)]",
                }
            )

    def test_new_version_copies_rules(self):
        """A new version of a rule set carries its rules along."""
        action = self.ruleset.action_new_version()
        new = self.env["prm.scoring.ruleset"].browse(action["res_id"])
        self.assertEqual(len(new.rule_ids), 5)
        self.assertEqual(len(self.ruleset.rule_ids), 5)

    def test_explanation_sums_to_score(self):
        """The explanation lists the rules and events behind the score, which add up."""
        with freeze_time(NOON):
            self.ingest(
                [
                    self._event(
                        email="be@example.com", url="https://x.com/pricing", at=NOON
                    ),
                    self._event("email_click", email="be@example.com", at=NOON),
                ]
            )
            score = self.be_lead._prm_score_all(explain=True)[self.be_lead.id]
            html = str(self.be_lead.prm_score_explanation)
        self.assertAlmostEqual(sum(c.points for c in score.contributions), score.total)
        self.assertEqual(score.total, self.be_lead.prm_score)
        self.assertIn("Belgium", html)
        self.assertIn("Pricing page", html)
        self.assertIn("Email click", html)
        self.assertIn(f"{score.total:.2f}", html)

    def test_score_ledger(self):
        """Changes of a point or more go to the ledger, chained, with their reason."""
        self.env["ir.config_parameter"].set_param("prm_scoring.rules_changed", False)
        with freeze_time(NOON):
            self.ingest([self._event("email_click", email="be@example.com", at=NOON)])
        with freeze_time(NOON + timedelta(days=60)):
            self.env["crm.lead"]._cron_prm_rescore_all()
        self.ruleset.write({"fit_weight": 50, "engagement_weight": 50})
        with freeze_time(NOON + timedelta(days=60)):
            self.env["crm.lead"]._cron_prm_rescore_all()
        entries = self.be_lead.prm_score_entry_ids.sorted("id")
        self.assertEqual(entries.mapped("reason"), ["event", "decay", "rule_change"])
        for previous, entry in zip(entries, entries[1:], strict=False):
            self.assertEqual(entry.old_score, previous.new_score)
        self.assertAlmostEqual(sum(entries.mapped("delta")), entries[-1].new_score)
        self.assertLess(abs(entries[-1].new_score - self.be_lead.prm_score), 1)
        # written by SQL, each entry carries its lead's company (the column
        # the multi-company rule filters on)
        self.env.invalidate_all()
        self.assertEqual(entries.company_id, self.be_lead.company_id)
        self.assertTrue(entries.company_id)
        # the ledger is append-only for users
        with self.assertRaises(AccessError):
            entries[0].with_user(self.sales_manager).write({"delta": 0})

    def test_salesman_cannot_edit_rules(self):
        """Salespeople read scoring rules but cannot change them."""
        rule = self.ruleset.rule_ids[0].with_user(self.salesman)
        self.assertTrue(rule.name)
        with self.assertRaises(AccessError):
            rule.write({"points": 99})

    def test_partner_scores_aggregate_leads(self):
        """A contact and its company carry the best score of their leads."""
        company = self.env["res.partner"].create({"name": "Acme", "is_company": True})
        contact = self.env["res.partner"].create(
            {"name": "Jo", "parent_id": company.id, "email": "jo@acme.example"}
        )
        self.be_lead.partner_id = contact  # crm copies the contact's email
        with freeze_time(NOON):
            self.ingest([self._event("email_click", email="jo@acme.example", at=NOON)])
        self.assertTrue(self.be_lead.prm_score > 0)
        self.assertEqual(contact.prm_score, self.be_lead.prm_score)
        self.assertEqual(company.prm_score, self.be_lead.prm_score)
        self.assertEqual(company.prm_grade, self.be_lead.prm_grade)

    def test_rule_sets_per_company(self):
        """Each company's leads are scored by that company's active rule set only."""
        other = self.env["prm.scoring.ruleset"].create(
            {"name": "Company 2 rules", "company_id": self.company_2.id}
        )
        self.env["prm.scoring.rule"].create(
            {
                "ruleset_id": other.id,
                "name": "Everyone",
                "kind": "fit",
                "points": 50,
                "domain": "[]",
            }
        )
        lead_2 = self.lead_2
        lead_2._prm_rescore()
        self.be_lead._prm_rescore()
        self.assertEqual(lead_2.prm_fit_score, 50.0)  # 50 of company 2's cap 100
        self.assertEqual(self.be_lead.prm_fit_score, 60.0)  # Belgium: 30 of 50
        # a user of company 1 cannot read company 2's rule set
        rulesets = self.env["prm.scoring.ruleset"].with_user(self.salesman).search([])
        self.assertNotIn(other, rulesets)

    def test_decay_preview(self):
        """The rule set shows what one event of each rule is worth over 90 days."""
        preview = str(self.ruleset.decay_preview)
        self.assertIn("Email click", preview)
        self.assertIn("8.0", preview)  # at day 0
        self.assertIn("4.0", preview)  # after one 30-day half-life

    def test_full_recompute_resumes_in_batches(self):
        """Run by the scheduler, the full recompute scores one batch per call,
        reports what remains, and the next call goes on where it stopped."""
        leads = self.env["crm.lead"].create(
            [
                {"name": f"B{i}", "country_id": self.env.ref("base.be").id}
                for i in range(3)
            ]
        )
        self.env["crm.lead"].search([]).write({"prm_fit_score": 0})
        cron = self.env.ref("prm_scoring.ir_cron_prm_rescore")
        cron, progress = cron._add_progress()
        Lead = self.env["crm.lead"].with_context(ir_cron_progress_id=progress.id)
        total = self.env["crm.lead"].with_context(active_test=False).search_count([])
        done = Lead._cron_prm_rescore_all(batch_size=total - 2)
        self.assertEqual((done, progress.remaining), (total - 2, 2))
        self.assertEqual(leads[-1].prm_fit_score, 0)  # not reached yet
        done = Lead._cron_prm_rescore_all(batch_size=total - 2)
        self.assertEqual((done, progress.remaining), (2, 0))
        self.assertEqual(leads.mapped("prm_fit_score"), [60.0] * 3)
        self.assertFalse(
            self.env["ir.config_parameter"].get_param("prm_scoring.rescore_run")
        )

    def test_salesman_sees_own_leads_history(self):
        """Salespeople see the score history of their own and unassigned
        leads only."""
        mine = self.be_lead
        theirs = self.env["crm.lead"].create(
            {
                "name": "Someone else's",
                "email_from": "x@other.example",
                "country_id": self.env.ref("base.be").id,
                "user_id": self.sales_manager.id,
            }
        )
        mine.user_id = self.salesman
        (mine + theirs)._prm_rescore()
        entries = self.env["prm.score.entry"].search(
            [("lead_id", "in", (mine + theirs).ids)]
        )
        self.assertEqual(entries.lead_id, mine + theirs)
        visible = (
            self.env["prm.score.entry"]
            .with_user(self.salesman)
            .search([("id", "in", entries.ids)])
        )
        self.assertEqual(visible.lead_id, mine)

    def test_lead_table_keeps_room_for_score_updates(self):
        """Installing prm_scoring leaves room in crm_lead pages for score
        updates (fillfactor 50), and uninstalling would give it back."""
        from ..hooks import OPTION, _lead_table_options, uninstall_hook

        self.assertIn(OPTION, _lead_table_options(self.env.cr))
        with self.rolled_back():
            uninstall_hook(self.env)
            self.assertNotIn(OPTION, _lead_table_options(self.env.cr) or [])
        self.assertIn(OPTION, _lead_table_options(self.env.cr))
