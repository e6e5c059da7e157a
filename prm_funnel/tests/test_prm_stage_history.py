# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from odoo.exceptions import AccessError
from odoo.tests import Form, tagged

from odoo.addons.prm_tracking.tests.common import PrmCommon

T0 = datetime(2026, 3, 2, 9, 0, 0)
COMPARED = (
    "lead_ref",
    "stage_id",
    "previous_stage_id",
    "date_enter",
    "date_exit",
    "duration_days",
    "exit_kind",
    "expected_revenue",
    "value",
    "value_delta",
    "is_initial",
)

# the property tests over RANDOM_STEPS: each example is a few ORM calls
RANDOM_SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# random changes to a few leads: (action, lead, argument)
RANDOM_STEPS = st.lists(
    st.tuples(
        st.sampled_from(
            ["stage", "win", "lose", "restore", "merge", "revalue", "delete",
             "probability", "owner", "delete_two"]
        ),
        st.integers(0, 3),
        st.integers(0, 3),
    ),
    max_size=8,
)  # fmt: skip


class StageHistoryCommon(PrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Stage = cls.env["crm.stage"]
        cls.team = cls.env["crm.team"].create({"name": "Funnel team"})
        cls.new = Stage.create({"name": "F New", "sequence": 1})
        cls.qual = Stage.create({"name": "F Qualified", "sequence": 2})
        cls.prop = Stage.create({"name": "F Proposition", "sequence": 3})
        cls.won = Stage.create({"name": "F Won", "sequence": 90, "is_won": True})
        cls.lost_reason = cls.env["crm.lost.reason"].create({"name": "F too dear"})
        # win rates are learnt from history: start from none
        cls.env["prm.stage.win.rate"].search([]).unlink()

    def _lead(self, name, revenue=1000.0, **vals):
        return self.env["crm.lead"].create(
            dict(
                name=name,
                type="opportunity",
                team_id=self.team.id,
                stage_id=self.new.id,
                expected_revenue=revenue,
                **vals,
            )
        )

    @contextmanager
    def _at(self, days):
        """Time frozen at T0 + days, the transaction's time too (as Odoo's
        own mail tests do)."""
        moment = T0 + timedelta(days=days)
        with self._clocks(moment, moment):
            yield

    @contextmanager
    def _clocks(self, odoo_now, database_now):
        """Odoo's clock (moves, tracking: to the second) frozen at
        ``odoo_now``, the transaction's timestamp (``create_date``: to the
        microsecond) at ``database_now``."""
        with (
            freeze_time(odoo_now),
            patch.object(self.env.cr, "now", lambda: database_now),
        ):
            yield

    def _tracked(self, action):
        """Run ``action`` with Odoo's tracking written then (as at commit)."""
        action()
        self.env.flush_all()
        self.env.cr.precommit.run()

    def _step(self, days, action):
        """Run ``action`` at T0 + days, with Odoo's tracking written then."""
        with self._at(days):
            self._tracked(action)

    def _with_tracking(self):
        self.env = self.env(context=dict(self.env.context, tracking_disable=False))

    def _random_owners(self):
        """The salespeople the random changes give leads to."""
        return [self.env.user, self.env["res.users"]]

    def _random_changes(self, steps, check):
        """Four leads changed by `steps` (RANDOM_STEPS), `check` run after
        each step."""
        stages = [self.new, self.qual, self.prop, self.won]
        leads = [self._lead(f"Random {i}", revenue=500.0 * (i + 1)) for i in
                 range(4)]  # fmt: skip
        for action, i, j in steps:
            lead = leads[i]
            if not lead.exists():
                continue
            if action == "stage" and lead.active:
                lead.stage_id = stages[j]
            elif action == "win" and lead.active:
                lead.action_set_won()
            elif action == "lose" and lead.active:
                lead.action_set_lost(lost_reason_id=self.lost_reason.id)
            elif action == "restore" and not lead.active:
                lead.toggle_active()
            elif action == "merge" and i != j and leads[j].exists():
                (lead + leads[j])._merge_opportunity(max_length=None)
            elif action == "revalue":
                self.env["prm.stage.win.rate"]._prm_refresh()
            elif action == "delete":
                lead.unlink()
            elif action == "probability":  # 100 wins, NULL never does
                lead.probability = [100.0, 40.0, 0.0, False][j]
            elif action == "owner":  # two leads in one statement
                owners = self._random_owners()
                (lead | leads[j]).exists().user_id = owners[j % len(owners)]
            elif action == "delete_two":
                (lead | leads[j]).exists().unlink()
            check()

    def _rows(self, stays):
        return [tuple(s[f] for f in COMPARED) for s in stays]

    def _assert_chained(self, stays):
        """No stay ends before it begins, and each one begins where the
        previous one of the same lead ended (unless that one was lost)."""
        for stay in stays:
            if stay.date_exit:
                self.assertGreaterEqual(stay.date_exit, stay.date_enter)
                self.assertGreaterEqual(stay.duration_days, 0.0)
        for stay, after in zip(stays, stays[1:], strict=False):
            if stay.lead_ref == after.lead_ref and stay.exit_kind != "lost":
                self.assertEqual(stay.date_exit, after.date_enter)

    def _truth_facts(self):
        """{stay id: (lead won now, lead's salesperson now, lead unassigned
        now)}, from the leads (a stay without a lead: not won, nobody's)."""
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT h.id, COALESCE(l.active AND l.probability = 100, false),
                      l.user_id, l.id IS NOT NULL AND l.user_id IS NULL
                 FROM prm_stage_history h LEFT JOIN crm_lead l ON l.id = h.lead_id"""
        )
        return {row[0]: row[1:] for row in self.env.cr.fetchall()}

    def _stored_facts(self):
        """The same, as stored on the stays."""
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT id, lead_won, lead_user_id, lead_unassigned FROM prm_stage_history"
        )
        return {row[0]: row[1:] for row in self.env.cr.fetchall()}

    def _stays(self, leads):
        return self.env["prm.stage.history"].search(
            [("lead_ref", "in", leads.ids)], order="lead_ref, date_enter, id"
        )


@tagged("post_install", "-at_install", "prm_funnel")
class TestPrmStageHistory(StageHistoryCommon):
    def test_live_moves(self):
        """Create, advance, regress, advance, win: one stay per stage visit,
        exits classified, durations in days, values at 50% (no history yet)."""
        with self._at(0):
            lead = self._lead("Moves")
        with self._at(2):
            lead.stage_id = self.qual
        with self._at(5):
            lead.stage_id = self.new
        with self._at(6):
            lead.stage_id = self.prop
        with self._at(10):
            lead.action_set_won()
        stays = self._stays(lead)
        self.assertTrue(lead.stage_id.is_won)
        self.assertEqual(
            [(s.stage_id, s.exit_kind, s.duration_days) for s in stays],
            [
                (self.new, "advanced", 2.0),
                (self.qual, "regressed", 3.0),
                (self.new, "advanced", 1.0),
                (self.prop, "won", 4.0),
                (lead.stage_id, "open", 0.0),
            ],
        )
        self.assertEqual(
            stays.mapped("previous_stage_id"),
            self.new + self.qual + self.new + self.prop,
        )
        self.assertEqual(stays[0].date_enter, T0)
        self.assertEqual(stays[-1].date_enter, T0 + timedelta(days=10))
        self.assertFalse(stays[-1].date_exit)
        self.assertEqual(stays.mapped("is_initial"), [True, False, False, False, False])
        # no closed lead yet: 50 % everywhere but the won stage (100 %)
        self.assertEqual(stays.mapped("value"), [500.0] * 4 + [1000.0])
        self.assertEqual(stays.mapped("value_delta"), [500.0, 0, 0, 0, 500.0])

    def test_moves_in_the_second_of_creation(self):
        """A lead moved and won in the very second it was created (its
        create_date to the microsecond, moves to the second): its first stay
        begins at the creation to the second, no stay ends before it begins."""
        created = T0 + timedelta(microseconds=700000)
        with self._clocks(created, created):
            lead = self._lead("Quick")
            lead.stage_id = self.qual
            lead.action_set_won()
        self.assertEqual(lead.create_date, created)
        stays = self._stays(lead)
        self.assertEqual(
            [
                (s.stage_id, s.exit_kind, s.date_enter, s.date_exit, s.duration_days)
                for s in stays
            ],
            [
                (self.new, "advanced", T0, T0, 0.0),
                (self.qual, "won", T0, T0, 0.0),
                (lead.stage_id, "open", T0, False, 0.0),
            ],
        )
        self.assertEqual(set(stays.mapped("lead_create_date")), {T0})
        self._assert_chained(stays)

    def test_database_clock_ahead(self):
        """With PostgreSQL's clock (create_date) ahead of Odoo's (the moves),
        a move takes effect when the stay it ends began, never before."""
        ahead = T0 + timedelta(seconds=3)
        with self._clocks(T0, ahead + timedelta(microseconds=250)):
            lead = self._lead("Ahead")
        with self._clocks(T0 + timedelta(seconds=1), ahead + timedelta(seconds=1)):
            lead.stage_id = self.qual
            lead.action_set_lost()
        with self._clocks(T0 + timedelta(seconds=2), ahead + timedelta(seconds=2)):
            lead.action_unarchive()
        stays = self._stays(lead)
        self.assertEqual(
            [(s.stage_id, s.exit_kind, s.date_enter, s.date_exit) for s in stays],
            [
                (self.new, "advanced", ahead, ahead),
                (self.qual, "lost", ahead, ahead),
                (self.qual, "open", ahead, False),
            ],
        )
        self._assert_chained(stays)

    def test_lost_and_restored(self):
        """Lost ends the stay (no new one); restoring opens a fresh stay whose
        value counts again."""
        with self._at(0):
            lead = self._lead("Lost")
        with self._at(1):
            lead.action_set_lost(lost_reason_id=self.lost_reason.id)
        with self._at(3):
            lead.action_unarchive()
        stays = self._stays(lead)
        self.assertEqual(
            [(s.stage_id, s.exit_kind, s.duration_days, s.value_delta) for s in stays],
            [(self.new, "lost", 1.0, 500.0), (self.new, "open", 0.0, 500.0)],
        )
        self.assertEqual(stays[1].date_enter, T0 + timedelta(days=3))
        self.assertFalse(stays[1].is_initial)

    def test_bulk_move(self):
        """Moving many leads at once closes and opens their stays in bulk."""
        with self._at(0):
            leads = self.env["crm.lead"].create(
                [
                    {
                        "name": f"Bulk {i}",
                        "team_id": self.team.id,
                        "stage_id": self.new.id,
                    }
                    for i in range(20)
                ]
            )
        with self._at(4):
            leads.write({"stage_id": self.qual.id})
        stays = self._stays(leads)
        self.assertEqual(len(stays), 40)
        self.assertEqual(
            set(stays.filtered(lambda s: s.stage_id == self.new).mapped("exit_kind")),
            {"advanced"},
        )
        self.assertEqual(
            set(stays.filtered(lambda s: s.stage_id == self.qual).mapped("exit_kind")),
            {"open"},
        )

    def test_merge_keeps_history(self):
        """Merging leads ends the merged ones' stays ("merged") and their
        history follows the surviving lead, each stay keeping its lead ref."""
        with self._at(0):
            head = self._lead("Head", email_from="m@x.example", probability=60)
            tail = self._lead("Tail", email_from="m@x.example", probability=10)
        with self._at(1):
            merged = (head + tail)._merge_opportunity(max_length=None)
        self.assertEqual(merged, head)
        self.assertFalse(tail.exists())
        history = self.env["prm.stage.history"].search([("lead_id", "=", head.id)])
        self.assertEqual(sorted(history.mapped("lead_ref")), sorted([head.id, tail.id]))
        tail_stay = history.filtered(lambda s: s.lead_ref == tail.id)
        self.assertEqual(
            (tail_stay.exit_kind, tail_stay.duration_days), ("merged", 1.0)
        )

    def test_win_rates_and_values(self):
        """P(won | stage) is learnt from closed leads, shrunk towards the
        company figures (k = 10), and the history is revalued with it."""
        with self._at(0):
            a, b, c, d = (self._lead(name) for name in "ABCD")
        with self._at(1):
            (a + c + d).write({"stage_id": self.qual.id})
        with self._at(2):
            d.stage_id = self.prop
        with self._at(3):
            (a + d).action_set_won()
            (b + c).action_set_lost()
        self.env["prm.stage.win.rate"]._prm_refresh()
        rates = {
            (r.team_id, r.stage_id): r.rate
            for r in self.env["prm.stage.win.rate"].search(
                [("company_id", "=", self.company.id)]
            )
        }
        # 4 closed, 2 won: (2 + 1) / (4 + 2) = 50 %
        self.assertEqual(rates[(self.team.browse(), self.new.browse())], 50.0)
        # New: (2 + 10 x 0.5) / (4 + 10); Qualified: (2 + 5) / 13; Proposition
        # (1 + 5) / 11
        self.assertEqual(rates[(self.team.browse(), self.new)], 50.0)
        self.assertEqual(rates[(self.team.browse(), self.qual)], 53.85)
        self.assertEqual(rates[(self.team.browse(), self.prop)], 54.55)
        # the team: Qualified (2 + 10 x 0.538462) / 13
        self.assertEqual(rates[(self.team, self.qual)], 56.8)
        qual_stay = self._stays(d).filtered(lambda s: s.stage_id == self.qual)
        self.assertEqual(qual_stay.stage_win_rate, 56.8)
        self.assertEqual(qual_stay.value, 568.0)
        # the won stay gained what the proposition was not yet worth
        won_stay = self._stays(d).filtered(lambda s: s.stage_id == d.stage_id)
        self.assertTrue(d.stage_id.is_won)
        prop_stay = self._stays(d).filtered(lambda s: s.stage_id == self.prop)
        self.assertAlmostEqual(won_stay.value_delta, 1000.0 - prop_stay.value, 2)

    def test_salesman_sees_own_leads_history(self):
        """Salespeople read the history of their own or unassigned leads
        only, and cannot change it."""
        with self._at(0):
            mine = self._lead("Mine", user_id=self.salesman.id)
            theirs = self._lead("Theirs", user_id=self.sales_manager.id)
        History = self.env["prm.stage.history"].with_user(self.salesman)
        visible = History.search([("lead_ref", "in", (mine + theirs).ids)])
        self.assertEqual(visible.lead_id, mine)
        with self.assertRaises(AccessError):
            visible.write({"value": 0})


@tagged("post_install", "-at_install", "prm_funnel")
class TestPrmStageBackfill(StageHistoryCommon):
    def test_backfill_equals_live(self):
        """History rebuilt from Odoo's tracking equals the one captured live
        for the same moves (advance, regress, revenue change, win, loss,
        restore)."""
        self.env = self.env(context=dict(self.env.context, tracking_disable=False))
        leads = self.env["crm.lead"]

        def create():
            nonlocal leads
            leads = self._lead("One", 1000.0) + self._lead("Two", 400.0)

        one = lambda: leads[0]  # noqa: E731
        two = lambda: leads[1]  # noqa: E731
        self._step(0, create)
        self._step(2, lambda: one().write({"stage_id": self.qual.id}))
        self._step(3, lambda: two().write({"expected_revenue": 800.0}))
        self._step(4, lambda: two().write({"stage_id": self.prop.id}))
        self._step(5, lambda: one().write({"stage_id": self.new.id}))
        self._step(6, lambda: two().action_set_lost())
        self._step(8, lambda: two().action_unarchive())
        self._step(
            9, lambda: one().write({"stage_id": self.prop.id, "expected_revenue": 1500})
        )
        self._step(12, lambda: one().action_set_won())
        live = [tuple(s[f] for f in COMPARED) for s in self._stays(leads)]
        self.assertEqual(len(live), 8)
        self._stays(leads).unlink()
        self.env["prm.stage.history"]._prm_backfill_leads(leads.ids)
        rebuilt = [tuple(s[f] for f in COMPARED) for s in self._stays(leads)]
        self.assertEqual(rebuilt, live)
        self.assertEqual(set(self._stays(leads).mapped("origin")), {"backfill"})

    def test_backfill_same_second_equals_live(self):
        """Leads created, then moved by other requests in the same second, or
        with PostgreSQL's clock ahead of Odoo's: the history rebuilt from
        tracking equals the live one, and no stay ends before it begins.
        (Odoo tracks nothing of a lead in the transaction that creates it.)"""
        self._with_tracking()
        new = {}
        created = T0 + timedelta(microseconds=700000)
        with self._clocks(created, created):
            self._tracked(lambda: new.update(quick=self._lead("Quick")))
        quick = new["quick"]
        # other requests, the same second
        with self._clocks(created, created + timedelta(microseconds=200000)):
            self._tracked(lambda: quick.write({"stage_id": self.qual.id}))
            self._tracked(lambda: quick.write({"stage_id": self.prop.id}))
            self._tracked(lambda: quick.action_set_lost())
        ahead = T0 + timedelta(seconds=5)
        with self._clocks(T0 + timedelta(seconds=1), ahead):
            self._tracked(lambda: new.update(late=self._lead("Clock ahead")))
        late = new["late"]
        with self._clocks(T0 + timedelta(seconds=2), ahead):
            self._tracked(lambda: late.write({"stage_id": self.qual.id}))
            self._tracked(lambda: late.write({"stage_id": self.prop.id}))
        leads = quick + late
        stays = self._stays(leads)
        self.assertEqual(
            [(s.lead_ref, s.stage_id, s.exit_kind, s.date_enter) for s in stays],
            [
                (quick.id, self.new, "advanced", T0),
                (quick.id, self.qual, "advanced", T0),
                (quick.id, self.prop, "lost", T0),
                (late.id, self.new, "advanced", ahead),
                (late.id, self.qual, "advanced", ahead),
                (late.id, self.prop, "open", ahead),
            ],
        )
        self._assert_chained(stays)
        live = self._rows(stays)
        stays.unlink()
        self.env["prm.stage.history"]._prm_backfill_leads(leads.ids)
        rebuilt = self._stays(leads)
        self.assertEqual(self._rows(rebuilt), live)
        self._assert_chained(rebuilt)

    def test_backfill_job_resumes(self):
        """The backfill job works batch by batch, saving where it got to."""
        with self._at(0):
            leads = self.env["crm.lead"].create(
                [{"name": f"Old {i}", "stage_id": self.new.id} for i in range(5)]
            )
        self._stays(leads).unlink()  # as if they predated the addon
        History = self.env["prm.stage.history"]
        History._prm_backfill_start()
        cron = self.env.ref("prm_funnel.ir_cron_prm_funnel_backfill")
        cron, progress = cron._add_progress()
        in_cron = History.with_context(ir_cron_progress_id=progress.id)
        total = self.env["crm.lead"].with_context(active_test=False).search_count([])
        self.assertEqual(in_cron._cron_prm_backfill(batch_size=total - 3), total - 3)
        self.assertEqual(progress.remaining, 3)
        self.assertEqual(in_cron._cron_prm_backfill(batch_size=total - 3), 3)
        self.assertEqual(progress.remaining, 0)
        self.assertEqual(len(self._stays(leads)), 5)
        self.assertFalse(
            self.env["ir.config_parameter"].get_param("prm_funnel.backfill")
        )


@tagged("post_install", "-at_install", "prm_funnel")
class TestPrmDemoHistory(StageHistoryCommon):
    def test_demo_history_is_consistent(self):
        """The demo past ends where each lead is now: one open stay per open
        lead, won and lost leads closed, stays chained in time."""
        with self._at(0):
            leads = self._lead("Demo open") + self._lead("Demo won")
            leads += self._lead("Demo lost")
        leads[0].stage_id = self.prop
        leads[1].action_set_won()
        leads[2].stage_id = self.qual
        leads[2].action_set_lost()
        self.env["prm.stage.history"]._prm_demo_history()
        for lead in leads:
            stays = self._stays(lead)
            self.assertTrue(stays, lead.name)
            self.assertEqual(stays[0].date_enter, lead.create_date)
            self.assertEqual(stays[-1].stage_id, lead.stage_id)
            for stay, after in zip(stays, stays[1:], strict=False):
                self.assertEqual(stay.date_exit, after.date_enter)
        self.assertEqual(self._stays(leads[0])[-1].exit_kind, "open")
        self.assertEqual(self._stays(leads[1])[-2].exit_kind, "won")
        self.assertEqual(self._stays(leads[2])[-1].exit_kind, "lost")


@tagged("post_install", "-at_install", "prm_funnel")
class TestPrmStageHistoryMerge(StageHistoryCommon):
    """Odoo's merge wizard deletes the merged leads: their stays end
    ("merged") and follow the surviving lead, each keeping its lead ref."""

    def _merge(self, leads):
        """Merge ``leads`` as a user does, with Odoo's merge wizard."""
        wizard = Form(
            self.env["crm.merge.opportunity"].with_context(
                active_model="crm.lead", active_ids=leads.ids
            )
        ).save()
        self.assertEqual(wizard.opportunity_ids, leads)
        return wizard.action_merge()

    def _two_leads(self):
        """The tail reaches Qualified on day 1, the head on day 2 and
        Proposition on day 3 (the wizard keeps the lead furthest in the
        pipeline)."""
        self._with_tracking()
        leads = self.env["crm.lead"]

        def create():
            nonlocal leads
            leads = self._lead("Head", email_from="m@x.example")
            leads += self._lead("Tail", 300.0, email_from="m@x.example")

        self._step(0, create)
        head, tail = leads
        self._step(1, lambda: tail.write({"stage_id": self.qual.id}))
        self._step(2, lambda: head.write({"stage_id": self.qual.id}))
        self._step(3, lambda: head.write({"stage_id": self.prop.id}))
        return head, tail

    def test_merge_wizard_keeps_history(self):
        """Through the wizard: the surviving lead keeps its own stays as they
        were, the deleted lead's stays are all kept (lead ref, open one ended
        "merged"), and a backfill of the surviving lead does not take the
        deleted one's tracking (moved to it by Odoo) for its own."""
        head, tail = self._two_leads()
        own_before = self._rows(self._stays(head))
        self._step(4, lambda: self._merge(head + tail))
        self.assertTrue(head.exists())
        self.assertFalse(tail.exists())
        history = head.prm_stage_history_ids
        self.assertEqual(history, self._stays(head) | self._stays(tail))
        self.assertEqual(self._rows(self._stays(head)), own_before)
        tail_stays = self._stays(tail)
        self.assertEqual(
            [(s.stage_id, s.exit_kind, s.duration_days) for s in tail_stays],
            [(self.new, "advanced", 1.0), (self.qual, "merged", 3.0)],
        )
        self.assertEqual(tail_stays[-1].date_exit, T0 + timedelta(days=4))
        self.assertEqual(tail_stays.lead_id, head)
        self.assertEqual(
            history.filtered(lambda s: s.exit_kind == "open").stage_id, self.prop
        )
        self._assert_chained(self._stays(head))
        self._assert_chained(tail_stays)
        # the tail's tracking now sits on the head's chatter
        self._stays(head).unlink()
        self.env["prm.stage.history"]._prm_backfill_leads(head.ids)
        self.assertEqual(self._rows(self._stays(head)), own_before)
        self.assertEqual(len(self._stays(tail)), 2)

    def test_merge_wizard_before_backfill(self):
        """Leads merged before the backfill job reached them: the deleted
        lead's history is rebuilt from its own tracking at the merge, and
        the job then rebuilds the surviving lead's without it."""
        head, tail = self._two_leads()
        self._stays(head + tail).unlink()  # as if they predated the addon
        History = self.env["prm.stage.history"]
        History._prm_backfill_start()
        self._step(4, lambda: self._merge(head + tail))
        tail_stays = self._stays(tail)
        self.assertEqual(
            [(s.stage_id, s.exit_kind, s.duration_days) for s in tail_stays],
            [(self.new, "advanced", 1.0), (self.qual, "merged", 3.0)],
        )
        self.assertEqual(tail_stays.lead_id, head)
        History._cron_prm_backfill()
        self.assertEqual(
            [(s.stage_id, s.exit_kind, s.duration_days) for s in self._stays(head)],
            [
                (self.new, "advanced", 2.0),
                (self.qual, "advanced", 1.0),
                (self.prop, "open", 0.0),
            ],
        )
        self.assertEqual(self._stays(tail), tail_stays)
        # a rebuilt lead is not rebuilt twice
        History._prm_backfill_leads((head + tail).ids)
        self.assertEqual(len(self._stays(head + tail)), 5)

    def test_merge_in_the_second_of_creation(self):
        """Leads created and merged in the same second: the merged stay does
        not end before it began."""
        created = T0 + timedelta(microseconds=700000)
        with self._clocks(created, created):
            head = self._lead("Head", email_from="q@x.example")
            tail = self._lead("Tail", email_from="q@x.example")
            head.stage_id = self.qual
            self._merge(head + tail)
        tail_stay = self._stays(tail)
        self.assertEqual(
            (tail_stay.exit_kind, tail_stay.date_enter, tail_stay.date_exit),
            ("merged", T0, T0),
        )
        self.assertEqual(tail_stay.duration_days, 0.0)
        self._assert_chained(self._stays(head))
