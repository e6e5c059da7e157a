# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import doctest
from datetime import timedelta
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odoo import fields
from odoo.tests import tagged
from odoo.tools import SQL

from odoo.addons.prm_tracking.tests.common import PrmCommon

from ..hooks import uninstall_hook
from ..tools import decision_facts


@tagged("post_install", "-at_install", "prm_scoring")
class TestPrmDecisionFacts(PrmCommon):
    """ "Lead won on", stored on each qualification move, equals what it
    stands for, and the Qualification report reads it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rule = cls.env["prm.qualification.rule"].create(
            {"name": "Facts: nurture", "state": "nurturing", "min_score": 0}
        )
        cls.lost_reason = cls.env["crm.lost.reason"].create({"name": "Facts"})
        cls.now = fields.Datetime.now().replace(microsecond=0)

    def _lead(self, name):
        return self.env["crm.lead"].create(
            {"name": name, "type": "opportunity", "expected_revenue": 100.0}
        )

    def _decide(self, lead, days_ago=0, state="nurturing"):
        return self.env["prm.qualification.entry"].create(
            {
                "lead_id": lead.id,
                "rule_id": self.rule.id,
                "from_state": "new",
                "to_state": state,
                "date": self.now - timedelta(days=days_ago),
            }
        )

    def _stored(self):
        """{move id: (lead won on, won later as the report counts it)}."""
        self.env.flush_all()
        self.env["prm.qualification.report"].invalidate_model()
        self.env.cr.execute("SELECT id, lead_won_at FROM prm_qualification_entry")
        won_at = dict(self.env.cr.fetchall())
        later = {
            row["id"]: row["later_won"]
            for row in self.env["prm.qualification.report"].search_read(
                [], ["later_won"]
            )
        }
        return {move: (won_at[move], later.get(move)) for move in won_at}

    def _truth(self):
        """The same, from the leads (won now, closed on or after the move)."""
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT q.id, CASE WHEN won THEN l.date_closed END,
                      CASE WHEN q.rule_id IS NOT NULL
                           THEN (won AND l.date_closed >= q.date)::int END
                 FROM prm_qualification_entry q
                 JOIN crm_lead l ON l.id = q.lead_id,
                 LATERAL (SELECT COALESCE(l.active AND l.probability = 100,
                                          false) AS won) w"""
        )
        return {move: (won_at, later) for move, won_at, later in self.env.cr.fetchall()}

    def _lead_facts(self):
        """({lead: stored (qualified on, accepted)}, the same from the moves)."""
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT id, prm_qualified_on, prm_accepted FROM crm_lead
                WHERE prm_qualified_on IS NOT NULL OR prm_accepted IS NOT NULL
                   OR id IN (SELECT lead_id FROM prm_qualification_entry)"""
        )
        stored = {lead: (on, accepted) for lead, on, accepted in self.env.cr.fetchall()}
        self.env.cr.execute(
            """SELECT lead_id, min(date) FILTER (WHERE to_state = 'qualified'),
                      bool_or(to_state = 'accepted')
                 FROM prm_qualification_entry GROUP BY lead_id"""
        )
        truth = {lead: (on, accepted) for lead, on, accepted in self.env.cr.fetchall()}
        return stored, truth

    def _assert_exact(self):
        self.assertEqual(self._stored(), self._truth())
        stored, truth = self._lead_facts()
        self.assertEqual(stored, truth)

    def test_won_on_follows_the_lead(self):
        """Winning, reclosing, reopening, losing and restoring a lead set
        "won on" on all of its moves, older and newer; the report's "won
        later" compares it with each move's date."""
        lead = self._lead("Facts A")
        before = self._decide(lead, days_ago=3)
        self._assert_exact()
        lead.action_set_won()
        self._assert_exact()
        self.assertEqual(self._stored()[before.id][1], 1)
        after = self._decide(lead, days_ago=0)  # decided after it was won...
        lead.date_closed = self.now - timedelta(days=1)  # ...when it was closed
        self._assert_exact()
        self.assertEqual(self._stored()[after.id], (lead.date_closed, 0))
        lead.write({"probability": 40})  # reopened
        self._assert_exact()
        self.assertEqual(self._stored()[before.id], (None, 0))
        lead.action_set_won()
        lead.action_set_lost(lost_reason_id=self.lost_reason.id)
        self._assert_exact()
        lead.toggle_active()
        lead.action_set_won()
        self._assert_exact()

    def test_lead_facts_follow_the_moves(self):
        """A lead's first qualification and its acceptance are stored on it
        as its moves come, move with a merge and go with a deleted move."""
        lead, other = self._lead("Facts Q"), self._lead("Facts R")
        self._decide(lead, days_ago=4, state="nurturing")
        first = self._decide(lead, days_ago=3, state="qualified")
        self._decide(lead, days_ago=1, state="qualified")
        self._assert_exact()
        self.assertEqual(lead.prm_qualified_on, first.date)
        self.assertFalse(lead.prm_accepted)
        self._decide(other, days_ago=5, state="accepted")
        self._assert_exact()
        (lead + other)._merge_opportunity(max_length=None)
        self._assert_exact()
        survivor = (lead + other).exists()
        self.assertEqual(len(survivor), 1)
        self.assertEqual(
            (survivor.prm_qualified_on, survivor.prm_accepted), (first.date, True)
        )
        self.env.cr.execute(
            "DELETE FROM prm_qualification_entry WHERE lead_id = %s", [survivor.id]
        )
        self._assert_exact()

    def test_won_without_closing_date(self):
        """A lead won in SQL without a closing date is won on its last write
        as the trigger saw it; later writes and the sync keep that moment."""
        lead = self._lead("Facts S")
        move = self._decide(lead, days_ago=2)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE crm_lead SET probability = 100, date_closed = NULL, "
            "write_date = %s WHERE id = %s RETURNING write_date",
            [self.now - timedelta(days=1), lead.id],
        )
        won_on = self.env.cr.fetchone()[0]
        self.env.cr.execute(
            "UPDATE crm_lead SET write_date = %s WHERE id = %s", [self.now, lead.id]
        )
        self.env["prm.qualification.entry"]._prm_sync_facts()
        self.assertEqual(self._stored()[move.id], (won_on, 1))

    def test_move_edited(self):
        """A move whose state or date is changed in place changes its lead's
        facts."""
        lead = self._lead("Facts T")
        move = self._decide(lead, days_ago=2, state="nurturing")
        self.assertFalse(lead.prm_qualified_on)
        move.write({"to_state": "qualified"})
        self._assert_exact()
        move.write({"date": self.now - timedelta(days=5)})
        self._assert_exact()
        self.assertEqual(lead.prm_qualified_on, self.now - timedelta(days=5))

    def test_merge_and_company(self):
        """Moves that follow a merged lead take the surviving lead's facts; a
        move written without a company gets its lead's."""
        won, other = self._lead("Facts won"), self._lead("Facts other")
        won.action_set_won()
        move = self._decide(other, days_ago=5)
        self.assertFalse(move.lead_won_at)
        (won + other)._merge_opportunity(max_length=None)
        self._assert_exact()
        self.assertEqual(self._stored()[move.id][1], 1)
        lead_2 = self.env["crm.lead"].create(
            {"name": "Facts 2", "company_id": self.company_2.id}
        )
        self.env.cr.execute(
            "INSERT INTO prm_qualification_entry (lead_id, from_state, to_state, "
            "date) VALUES (%s, 'new', 'nurturing', now()) RETURNING company_id",
            [lead_2.id],
        )
        self.assertEqual(self.env.cr.fetchone()[0], self.company_2.id)

    def test_sync_mends_the_facts(self):
        """Facts changed behind the triggers' back are put right by the sync
        (run on install and update), which writes only what differs."""
        leads = self._lead("Facts B") + self._lead("Facts C")
        for lead in leads:
            self._decide(lead, days_ago=2)
        leads[0].action_set_won()
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE prm_qualification_entry SET lead_won_at = CASE WHEN "
            "lead_won_at IS NULL THEN now() END, company_id = NULL "
            "WHERE lead_id = ANY(%s)",
            [leads.ids],
        )
        self.env.cr.execute(
            "UPDATE crm_lead SET prm_qualified_on = now(), prm_accepted = true "
            "WHERE id = %s",
            [leads[1].id],
        )
        Move = self.env["prm.qualification.entry"]
        Move._prm_sync_facts()
        self._assert_exact()
        self.assertEqual(
            set(Move.search([("lead_id", "in", leads.ids)]).company_id), {self.company}
        )
        places = (
            "SELECT array_agg(ctid ORDER BY id) FROM prm_qualification_entry "
            "UNION ALL SELECT array_agg(ctid ORDER BY id) FROM crm_lead"
        )
        self.env.cr.execute(places)
        before = self.env.cr.fetchall()
        Move._prm_sync_facts()
        self.env.cr.execute(places)
        self.assertEqual(self.env.cr.fetchall(), before)  # nothing rewritten

    def test_pivot_counts_without_the_leads(self):
        """The pivot's counts per rule and state (as a manager opens it) are
        read from the moves alone: PostgreSQL leaves the lead out; a
        salesperson's still keep to their leads."""
        lead = self._lead("Facts D")
        lead.user_id = False  # unassigned
        self._decide(lead, days_ago=1)
        lead.action_set_won()
        Report = self.env["prm.qualification.report"].with_user(self.sales_manager)
        queries = []
        execute = type(self.env.cr).execute

        def spy(cr, query, params=None, log_exceptions=True):
            queries.append((query, params))
            return execute(cr, query, params, log_exceptions)

        with patch.object(type(self.env.cr), "execute", spy):
            groups = Report.read_group(
                [],
                ["decisions:sum", "later_won:sum", "false_negative:sum"],
                ["rule_id", "to_state"],
                lazy=False,
            )
        self.assertIn((1, 1), {(g["decisions"], g["later_won"]) for g in groups})
        query, params = next(
            (q, p) for q, p in queries if "prm_qualification_entry" in str(q)
        )
        if isinstance(query, SQL):
            query, params = query.code, query.params
        self.env.cr.execute("EXPLAIN " + query, params)
        plan = "\n".join(row[0] for row in self.env.cr.fetchall())
        self.assertNotIn("crm_lead", plan)
        # a salesperson (whose rule reads the lead) counts only the moves of
        # their own and unassigned leads
        theirs = self._lead("Facts theirs")
        theirs.user_id = self.sales_manager
        self._decide(theirs)
        counts = {
            user: sum(
                g["decisions"]
                for g in Report.with_user(user).read_group(
                    [("lead_id", "in", (lead + theirs).ids)],
                    ["decisions:sum"],
                    ["rule_id"],
                )
            )
            for user in (self.sales_manager, self.salesman)
        }
        self.assertEqual(counts, {self.sales_manager: 2, self.salesman: 1})

    @settings(
        max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(
        st.lists(
            st.tuples(
                st.sampled_from(
                    ["decide", "win", "lose", "restore", "reopen", "close", "merge"]
                ),
                st.integers(0, 2),
                st.integers(0, 3),
            ),
            max_size=8,
        )
    )
    def test_random_changes_stay_exact(self, steps):
        """Any sequence of decisions, wins, losses, restores, reopenings,
        closing dates and merges leaves "won on" and "won later" exact."""
        with self.rolled_back():
            leads = [self._lead(f"Random {i}") for i in range(3)]
            for lead in leads:
                self._decide(lead, days_ago=2)
            for action, i, j in steps:
                lead = leads[i]
                if not lead.exists():
                    continue
                if action == "decide":
                    self._decide(lead, days_ago=j)
                elif action == "win" and lead.active:
                    lead.action_set_won()
                elif action == "lose" and lead.active:
                    lead.action_set_lost(lost_reason_id=self.lost_reason.id)
                elif action == "restore" and not lead.active:
                    lead.toggle_active()
                elif action == "reopen":
                    lead.probability = 30
                elif action == "close":
                    lead.date_closed = self.now - timedelta(days=j)
                elif action == "merge" and j < 3 and j != i and leads[j].exists():
                    (lead + leads[j])._merge_opportunity(max_length=None)
                self._assert_exact()

    def test_formula_examples(self):
        """The module's examples (the won-on formula as SQL) hold."""
        result = doctest.testmod(decision_facts)
        self.assertEqual((result.failed, result.attempted > 0), (0, True))

    def test_uninstall_drops_the_triggers(self):
        """Uninstalling removes the trigger on crm_lead and the functions (the
        moves' table goes with the module)."""
        with self.rolled_back():
            uninstall_hook(self.env)
            self.env.cr.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname = 'prm_lead_won_at'"
            )
            self.assertEqual(self.env.cr.fetchone()[0], 0)
            self.env.cr.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'prm_move%%'"
            )
            self.assertEqual(self.env.cr.fetchone()[0], 0)
            self.env.cr.execute(
                "SELECT count(*) FROM pg_proc WHERE proname IN "
                "('prm_move_lead_won', 'prm_lead_won_at_changed', "
                "'prm_moves_changed')"
            )
            self.assertEqual(self.env.cr.fetchone()[0], 0)
