# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from odoo.addons.prm_tracking.tests.common import PrmCommon


@tagged("post_install", "-at_install", "prm_scoring")
class TestPrmQualification(PrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["prm.scoring.ruleset"].search([]).write({"active": False})
        cls.ruleset = cls.env["prm.scoring.ruleset"].create(
            {"name": "Q rules", "fit_weight": 100, "engagement_weight": 0}
        )
        cls.env["prm.scoring.rule"].create(
            [
                {
                    "ruleset_id": cls.ruleset.id,
                    "name": "Has phone",
                    "kind": "fit",
                    "points": 80,
                    "domain": "[('phone', '!=', False)]",
                },
                {
                    "ruleset_id": cls.ruleset.id,
                    "name": "Has website",
                    "kind": "fit",
                    "points": 30,
                    "domain": "[('website', '!=', False)]",
                },
            ]
        )
        cls.team = cls.env["crm.team"].create({"name": "PRM hot team"})
        cls.hot_tag = cls.env["crm.tag"].create({"name": "PRM hot"})
        cls.nurture_tag = cls.env["crm.tag"].create({"name": "PRM nurture"})
        cls.lost_reason = cls.env["crm.lost.reason"].create({"name": "PRM no fit"})
        Rule = cls.env["prm.qualification.rule"]
        cls.rule_hot = Rule.create(
            {
                "name": "Hot to sales",
                "sequence": 1,
                "state": "qualified",
                "min_score": 70,
                "convert": True,
                "team_id": cls.team.id,
                "user_id": cls.salesman.id,
                "activity_type_id": cls.env.ref("mail.mail_activity_data_call").id,
                "activity_summary": "Call the hot lead",
                "tag_ids": [(6, 0, cls.hot_tag.ids)],
            }
        )
        cls.rule_warm = Rule.create(
            {
                "name": "Warm: nurture",
                "sequence": 2,
                "state": "nurturing",
                "min_score": 20,
                "tag_ids": [(6, 0, cls.nurture_tag.ids)],
            }
        )
        cls.rule_cold = Rule.create(
            {
                "name": "Cold: eliminate",
                "sequence": 3,
                "state": "eliminated",
                "max_score": 20,
                "lost_reason_id": cls.lost_reason.id,
            }
        )

    def _lead(self, **vals):
        return self.env["crm.lead"].create(
            dict({"name": "Q lead", "type": "lead"}, **vals)
        )

    def test_qualified_actions(self):
        """A hot lead is qualified, converted, assigned, tagged, given a call, noted."""
        lead = self._lead(phone="+32 2 000 00 00")
        lead._prm_rescore()
        self.assertEqual(lead.prm_score, 80.0)
        self.assertEqual(
            (lead.prm_qualification, lead.prm_qualification_rule_id),
            ("qualified", self.rule_hot),
        )
        self.assertEqual(lead.type, "opportunity")
        self.assertEqual((lead.team_id, lead.user_id), (self.team, self.salesman))
        self.assertIn(self.hot_tag, lead.tag_ids)
        self.assertEqual(lead.activity_ids.summary, "Call the hot lead")
        self.assertIn("Hot to sales", lead.message_ids.mapped("body")[0])

    def test_never_won_lost_or_sales_pipeline(self):
        """An eliminate-all rule leaves won deals, lost ones and opportunities
        a salesperson owns or that passed the first stage alone."""
        self.rule_hot.active = self.rule_warm.active = False
        self.rule_cold.max_score = 0  # "score 0 to 0": every lead here
        stages = self.env["crm.stage"].search([("team_id", "in", [False])])
        won_stage = stages.filtered("is_won")[:1]
        first, second = stages.filtered(lambda s: not s.is_won).sorted("sequence")[:2]
        won = self._lead(type="opportunity", stage_id=won_stage.id)
        owned = self._lead(type="opportunity", user_id=self.salesman.id)
        later = self._lead(type="opportunity", user_id=False, stage_id=second.id)
        lost = self._lead(type="opportunity", user_id=False)
        lost.action_set_lost()
        marketing = self._lead(type="opportunity", user_id=False, stage_id=first.id)
        lead = self._lead(user_id=self.salesman.id)
        accepted = self._lead(prm_qualification="accepted")
        everything = won | owned | later | lost | marketing | lead | accepted
        everything._prm_rescore()
        self.assertEqual(
            {rec: rec.prm_qualification for rec in everything},
            {
                won: "new",
                owned: "new",
                later: "new",
                lost: "new",
                marketing: "eliminated",
                lead: "eliminated",
                accepted: "accepted",
            },
        )
        self.assertEqual(won.probability, 100)
        self.assertTrue(owned.active and later.active)
        # a rule that says so acts on the sales pipeline too, never on won deals
        self.rule_cold.scope = "pipeline"
        (won | owned | later)._prm_rescore()
        self.assertEqual(
            (won.prm_qualification, owned.prm_qualification, later.prm_qualification),
            ("new", "eliminated", "eliminated"),
        )

    def test_company_without_rule_set(self):
        """In a company that never had a scoring rule set, no lead is older
        than PRM: its rules act on its leads."""
        self.assertFalse(
            self.env["prm.scoring.ruleset"]
            .with_context(active_test=False)
            .search([("company_id", "=", self.company_2.id)])
        )
        self.env["prm.qualification.rule"].create(
            {
                "name": "C2 nurture",
                "state": "nurturing",
                "company_id": self.company_2.id,
            }
        )
        lead = self._lead(company_id=self.company_2.id)
        lead._prm_qualify()
        self.assertEqual(lead.prm_qualification, "nurturing")

    def test_leads_older_than_prm_left_alone(self):
        """Leads created before the company's first rule set are left alone
        unless the rule opts them in."""
        old = self._lead()
        self.env.cr.execute(
            "UPDATE crm_lead SET create_date = %s WHERE id = %s",
            ("2020-01-01 00:00:00", old.id),
        )
        old.invalidate_recordset(["create_date"])
        old._prm_rescore()
        self.assertEqual(old.prm_qualification, "new")
        self.rule_cold.include_existing = True
        old._prm_rescore()
        self.assertEqual(old.prm_qualification, "eliminated")

    def test_partner_scores_follow_their_leads(self):
        """A contact's score is its best lead's, and follows when that lead is
        lost, restored, moved to another contact, merged or deleted."""
        (self.rule_hot | self.rule_warm | self.rule_cold).active = False
        # priorities (which Odoo never copies between a lead and its contact)
        self.ruleset.rule_ids.active = False
        self.env["prm.scoring.rule"].create(
            [
                {"ruleset_id": self.ruleset.id, "name": "Very high", "kind": "fit",
                 "points": 80, "domain": "[('priority', '=', '3')]"},
                {"ruleset_id": self.ruleset.id, "name": "Medium", "kind": "fit",
                 "points": 30, "domain": "[('priority', '=', '1')]"},
            ]
        )  # fmt: skip
        alice, bob = self.env["res.partner"].create([{"name": "A"}, {"name": "B"}])
        hot = self._lead(priority="3", partner_id=alice.id)
        warm = self._lead(priority="1", partner_id=alice.id)
        (hot | warm)._prm_rescore()
        self.assertEqual(alice.prm_score, 80.0)
        hot.action_set_lost()
        self.assertEqual(alice.prm_score, 30.0)
        hot.action_unarchive()
        self.assertEqual(alice.prm_score, 80.0)
        hot.partner_id = bob
        self.assertEqual((alice.prm_score, bob.prm_score), (30.0, 80.0))
        other = self._lead(partner_id=bob.id, email_from="b@example.com")
        other._prm_rescore()
        survivor = (hot | other)._merge_opportunity(auto_unlink=True)
        self.assertEqual(bob.prm_score, survivor.prm_score)
        warm.unlink()
        self.assertFalse(alice.prm_score)
        self.assertFalse(alice.prm_grade)

    def test_preview_then_activate(self):
        """The preview shows what a rule would move now and would have done to
        closed leads; moving more than the limit needs a confirmation, both
        through the preview and when editing an active rule."""
        (self.rule_hot | self.rule_warm | self.rule_cold).active = False
        phone = {"phone": "+32 2 000 00 05"}
        fresh = self._lead(**phone) | self._lead(**phone) | self._lead(**phone)
        won = self._lead(**phone) | self._lead(**phone)
        lost = self._lead(**phone)
        (fresh | won | lost)._prm_rescore()
        won.action_set_won()
        lost.action_set_lost()
        rule = self.env["prm.qualification.rule"].create(
            {"name": "Phone: sales", "state": "qualified", "min_score": 70,
             "active": False}
        )  # fmt: skip
        self.env["ir.config_parameter"].set_param(
            "prm_scoring.qualification_confirm_above", 2
        )
        action = rule.with_user(self.sales_manager).action_preview()
        preview = self.env["prm.qualification.preview"].browse(action["res_id"])
        line = preview.line_ids.filtered(lambda line: line.rule_id == rule)
        self.assertEqual((line.move_count, line.lead_ids), (3, fresh))
        self.assertEqual((line.closed_count, line.won_count), (3, 2))
        self.assertAlmostEqual(line.precision, 66.7)  # 2 of 3, one decimal
        self.assertEqual(
            fresh.mapped("prm_qualification"), ["new"] * 3
        )  # nothing moved
        self.assertTrue(preview.needs_confirmation)
        with self.assertRaises(UserError):
            preview.action_apply()
        preview.confirmed = True
        preview.action_apply()
        self.assertTrue(rule.active)
        self.assertEqual(set(fresh.mapped("prm_qualification")), {"qualified"})
        # an eliminate rule over the won deals' scores counts them as dropped
        drop = self.env["prm.qualification.rule"].create(
            {"name": "Drop", "state": "eliminated", "min_score": 70,
             "sequence": 0, "active": False}
        )  # fmt: skip
        preview = self.env["prm.qualification.preview"].browse(
            drop.action_preview()["res_id"]
        )
        dropped = preview.line_ids.filtered(lambda line: line.rule_id == drop)
        self.assertEqual(dropped.false_negatives, 2)
        # editing an active rule so that it moves too many is refused
        cold = self._lead() | self._lead() | self._lead()
        cold._prm_rescore()
        self.assertEqual(set(cold.mapped("prm_qualification")), {"new"})
        with self.assertRaises(UserError):
            rule.min_score = 0
        self.assertEqual(rule.min_score, 70)

    def test_unverified_identity_waits(self):
        """An unverified lead (unsigned sign-up) is not qualified, converted or
        assigned until it is verified; then the rules run."""
        lead = self._lead(
            phone="+32 2 000 00 02",
            prm_identity_verified=False,
            user_id=self.salesman.id,
        )
        lead._prm_rescore()
        self.assertEqual(lead.prm_score, 80.0)
        self.assertEqual((lead.prm_qualification, lead.type), ("new", "lead"))
        self.assertFalse(lead.activity_ids)
        lead.with_user(self.salesman).action_prm_verify_identity()
        self.env["prm.person.queue"]._cron_apply()
        self.assertEqual(
            (lead.prm_qualification, lead.type, lead.user_id),
            ("qualified", "opportunity", self.salesman),
        )

    def test_merge_keeps_score_history(self):
        """Merging leads moves the merged leads' score ledger and qualification
        moves to the lead that stays, which is rescored."""
        lead = self._lead(website="https://a.example", email_from="m@example.com")
        lead._prm_rescore()
        other = self._lead(phone="+32 2 000 00 03", email_from="m@example.com")
        other._prm_rescore()
        entries = self.env["prm.score.entry"].search(
            [("lead_id", "in", (lead | other).ids)]
        )
        moves = self.env["prm.qualification.entry"].search(
            [("lead_id", "in", (lead | other).ids)]
        )
        self.assertTrue(entries and moves)
        wizard = Form(
            self.env["crm.merge.opportunity"].with_context(
                active_model="crm.lead", active_ids=(lead | other).ids
            )
        ).save()
        survivor = self.env["crm.lead"].browse(wizard.action_merge()["res_id"])
        self.assertEqual(entries.lead_id, survivor)
        self.assertEqual(moves.lead_id, survivor)
        # rescored after the move: the ledger ends at the survivor's score
        last = self.env["prm.score.entry"].search(
            [("lead_id", "=", survivor.id)], order="id desc", limit=1
        )
        self.assertEqual(last.new_score, survivor.prm_score)

    def test_nurturing_then_qualified(self):
        """A nurtured lead is qualified once its score rises."""
        lead = self._lead(website="https://x.example")
        lead._prm_rescore()
        self.assertEqual(lead.prm_qualification, "nurturing")
        self.assertIn(self.nurture_tag, lead.tag_ids)
        lead.phone = "+32 2 000 00 01"
        lead._prm_rescore()
        self.assertEqual(lead.prm_qualification, "qualified")

    def test_eliminated_archived_not_deleted(self):
        """A cold lead is eliminated: archived as lost with a reason, not deleted."""
        lead = self._lead()
        lead._prm_rescore()
        self.assertEqual(lead.prm_qualification, "eliminated")
        self.assertTrue(lead.exists())
        self.assertFalse(lead.active)
        self.assertEqual(lead.lost_reason_id, self.lost_reason)
        lead._prm_rescore()  # eliminated leads are not re-qualified
        self.assertEqual(lead.prm_qualification, "eliminated")

    def test_accept_and_reject(self):
        """Sales accept a qualified lead, or reject it with a reason in the chatter."""
        accepted = self._lead(phone="1")
        rejected = self._lead(phone="2")
        (accepted + rejected)._prm_rescore()
        accepted.with_user(self.salesman).action_prm_accept()
        self.assertEqual(accepted.prm_qualification, "accepted")
        action = rejected.with_user(self.salesman).action_prm_reject()
        wizard_form = Form(
            self.env[action["res_model"]].with_context(**action["context"])
        )
        wizard_form.reason = "Student, no budget"
        wizard_form.save().action_reject()
        self.assertEqual(rejected.prm_qualification, "rejected")
        self.assertIn("Student, no budget", rejected.message_ids.mapped("body")[0])
        with self.assertRaises(UserError):
            rejected.action_prm_accept()

    def test_rules_access_and_company(self):
        """Salespeople see only their company's qualification rules, read-only."""
        other = self.env["prm.qualification.rule"].create(
            {
                "name": "Company 2 rule",
                "state": "nurturing",
                "company_id": self.company_2.id,
            }
        )
        visible = self.env["prm.qualification.rule"].with_user(self.salesman).search([])
        self.assertIn(self.rule_hot, visible)
        self.assertNotIn(other, visible)
        with self.assertRaises(AccessError):
            self.rule_hot.with_user(self.salesman).write({"min_score": 0})
        self.assertEqual(self.rule_hot.min_score, 70)

    def test_negative_score_bound_refused(self):
        """A negative score bound is refused by the database and nothing is stored."""
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            with self.env.cr.savepoint():
                self.env["prm.qualification.rule"].create(
                    {"name": "Bad", "state": "qualified", "min_score": -1}
                )
                self.env.flush_all()
        self.assertFalse(
            self.env["prm.qualification.rule"].search([("name", "=", "Bad")])
        )

    def test_ledger_hidden_across_companies(self):
        """Salespeople do not see the score history of another company's leads."""
        lead = self._lead(phone="3")
        lead._prm_rescore()
        other_ruleset = self.env["prm.scoring.ruleset"].create(
            {"name": "C2", "company_id": self.company_2.id}
        )
        self.env["prm.scoring.rule"].create(
            {
                "ruleset_id": other_ruleset.id,
                "name": "All",
                "kind": "fit",
                "points": 50,
                "domain": "[]",
            }
        )
        self.lead_2._prm_rescore()
        entries = self.env["prm.score.entry"].search(
            [("lead_id", "in", (lead + self.lead_2).ids)]
        )
        self.assertEqual(len(entries), 2)
        visible = (
            self.env["prm.score.entry"]
            .with_user(self.salesman)
            .search([("id", "in", entries.ids)])
        )
        self.assertEqual(visible.lead_id, lead)

    def test_moves_logged_and_reported(self):
        """Each move is logged with its rule; the report counts each rule's
        decisions and the eliminated or nurtured leads won anyway."""
        hot = self._lead(phone="10")
        warm = self._lead(website="https://w.example")
        cold = self._lead()
        (hot + warm + cold)._prm_rescore()
        hot.with_user(self.salesman).action_prm_accept()
        moves = self.env["prm.qualification.entry"].search(
            [("lead_id", "in", (hot + warm + cold).ids)]
        )
        self.assertEqual(
            sorted((m.lead_id.id, m.from_state, m.to_state) for m in moves),
            sorted(
                [
                    (hot.id, "new", "qualified"),
                    (hot.id, "qualified", "accepted"),
                    (warm.id, "new", "nurturing"),
                    (cold.id, "new", "eliminated"),
                ]
            ),
        )
        self.assertEqual(
            moves.filtered(lambda m: m.to_state == "accepted").user_id, self.salesman
        )
        # the nurtured lead is won without ever being qualified: a false negative
        warm.write({"expected_revenue": 1000})
        warm.action_set_won()
        self.env.flush_all()
        Report = self.env["prm.qualification.report"]
        rows = {
            (rule, state): (decisions, won, fn)
            for rule, state, decisions, won, fn in Report._read_group(
                [("lead_id", "in", (hot + warm + cold).ids)],
                ["rule_id", "to_state"],
                ["decisions:sum", "later_won:sum", "false_negative:sum"],
            )
        }
        self.assertEqual(
            rows,
            {
                (self.rule_hot, "qualified"): (1, 0, 0),
                (self.rule_warm, "nurturing"): (1, 1, 1),
                (self.rule_cold, "eliminated"): (1, 0, 0),
            },
        )
        won_revenue = Report.search([("lead_id", "=", warm.id)]).won_revenue
        self.assertEqual(won_revenue, 1000)

    def test_rule_filter_validated(self):
        """A qualification rule with an invalid filter is refused."""
        with self.assertRaises(ValidationError):
            self.env["prm.qualification.rule"].create(
                {"name": "Bad", "state": "nurturing", "domain": "[('nope', '=', 1)]"}
            )

    def test_first_matching_rule_decides(self):
        """Rules apply in order, in bulk: a lead matching two rules goes where
        the first one sends it, and only leads that change state are moved."""
        self.rule_warm.sequence = 0  # now before "Hot to sales"
        hot = self._lead(phone="11")
        hot._prm_rescore()
        self.assertEqual(hot.prm_qualification, "nurturing")
        count = self.env["prm.qualification.entry"].search_count(
            [("lead_id", "=", hot.id)]
        )
        hot._prm_rescore()  # still nurturing: no new move
        self.assertEqual(
            self.env["prm.qualification.entry"].search_count(
                [("lead_id", "=", hot.id)]
            ),
            count,
        )
