# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from hypothesis import given

from odoo.tests import tagged

from ..hooks import uninstall_hook
from .test_prm_stage_history import RANDOM_SETTINGS, RANDOM_STEPS, StageHistoryCommon


@tagged("post_install", "-at_install", "prm_funnel")
class TestPrmLeadFacts(StageHistoryCommon):
    """The facts the reports read instead of joining or summing (won now on
    each stay, value added per lead) equal what they stand for."""

    def _truth_won(self):
        """{stay id: its lead is won now}, from the leads."""
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT h.id, COALESCE(l.active AND l.probability = 100, false)
                 FROM prm_stage_history h LEFT JOIN crm_lead l ON l.id = h.lead_id"""
        )
        return dict(self.env.cr.fetchall())

    def _stored_won(self):
        self.env.flush_all()
        self.env.cr.execute("SELECT id, lead_won FROM prm_stage_history")
        return dict(self.env.cr.fetchall())

    def _truth_values(self):
        """{lead id: value added}, summed from the stays, for every lead."""
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT l.id, COALESCE(sum(h.value_delta) FILTER (
                          WHERE NOT h.is_initial AND h.value_delta > 0), 0)
                 FROM crm_lead l LEFT JOIN prm_stage_history h ON h.lead_id = l.id
             GROUP BY l.id"""
        )
        return {lead: float(value) for lead, value in self.env.cr.fetchall()}

    def _stored_values(self):
        """{lead id: value added} as the Source Quality report reads it."""
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT l.id, COALESCE(v.value_added, 0) FROM crm_lead l
                 LEFT JOIN prm_lead_value_added v ON v.lead_id = l.id"""
        )
        return {lead: float(value) for lead, value in self.env.cr.fetchall()}

    def _assert_exact(self):
        self.env.flush_all()
        self.assertEqual(self._stored_won(), self._truth_won())
        self.assertEqual(self._stored_values(), self._truth_values())

    def _valued(self, lead_names):
        """Leads moved through the stages and closed, with the history valued
        by learnt win rates (so that moves add value)."""
        with self._at(0):
            leads = [self._lead(name, revenue=1000.0 * (i + 1)) for i, name in
                     enumerate(lead_names)]  # fmt: skip
        with self._at(1):
            for lead in leads:
                lead.stage_id = self.qual
        with self._at(2):
            leads[0].stage_id = self.prop
            leads[0].action_set_won()
            leads[1].action_set_lost(lost_reason_id=self.lost_reason.id)
        # learn the rates and revalue, without the daily job's full sync
        # (the triggers alone must keep the facts)
        self.env["prm.stage.win.rate"]._prm_refresh()
        return leads

    def test_won_follows_the_lead(self):
        """Winning, reopening, losing and restoring a lead sets "won now" on
        all of its stays, the new ones included."""
        with self._at(0):
            lead = self._lead("Won now")
        with self._at(1):
            lead.stage_id = self.qual
        stays = self._stays(lead)
        self.assertEqual(set(stays.mapped("lead_won")), {False})
        with self._at(2):
            lead.action_set_won()
        self.env.flush_all()
        stays = self._stays(lead)
        stays.invalidate_recordset(["lead_won"])
        self.assertEqual(len(stays), 3)
        self.assertEqual(set(stays.mapped("lead_won")), {True})
        with self._at(3):  # reopened
            lead.write({"stage_id": self.prop.id, "probability": 40})
        self._assert_exact()
        self.assertFalse(any(self._stored_won()[s] for s in self._stays(lead).ids))
        with self._at(4):
            lead.action_set_won()
            lead.action_set_lost(lost_reason_id=self.lost_reason.id)
        self._assert_exact()
        with self._at(5):
            lead.toggle_active()
            lead.action_set_won()
        self._assert_exact()
        self.assertTrue(all(self._stored_won()[s] for s in self._stays(lead).ids))

    def test_value_added_follows_the_stays(self):
        """Moves, revaluation, a merge, a stay deleted in SQL and a lead
        deleted keep each lead's stored value added equal to its stays' sum."""
        leads = self._valued("ABC")
        values = self._stored_values()
        self.assertGreater(values[leads[0].id], 0.0)  # moves added value
        self._assert_exact()
        with self._at(3):
            merged = (leads[2] + leads[0])._merge_opportunity(max_length=None)
        self.env["prm.stage.history"]._prm_revalue()
        self._assert_exact()
        self.env.cr.execute(
            "DELETE FROM prm_stage_history WHERE id = %s",
            [max(self._stays(merged).ids)],
        )
        self._assert_exact()
        merged.unlink()
        self._assert_exact()

    def test_sync_mends_the_facts(self):
        """Facts changed behind the triggers' back are put right by the daily
        refresh, which writes only what differs."""
        leads = self._valued("DE")
        self.env.cr.execute("UPDATE prm_stage_history SET lead_won = NOT lead_won")
        self.env.cr.execute(
            "UPDATE prm_lead_value_added SET value_added = value_added + 7"
        )
        self.env.cr.execute(
            "INSERT INTO prm_lead_value_added VALUES (%s, 1)", [max(leads).id + 1000]
        )
        self.env["prm.stage.history"]._cron_prm_refresh()
        self._assert_exact()
        self.env.cr.execute(
            "SELECT count(*) FROM prm_lead_value_added v WHERE NOT EXISTS "
            "(SELECT 1 FROM crm_lead l WHERE l.id = v.lead_id)"
        )
        self.assertEqual(self.env.cr.fetchone()[0], 0)
        # a row rewritten gets a new physical place (ctid)
        places = (
            "SELECT array_agg(ctid ORDER BY lead_id) FROM prm_lead_value_added "
            "UNION ALL SELECT array_agg(ctid ORDER BY id) FROM prm_stage_history"
        )
        self.env.cr.execute(places)
        before = self.env.cr.fetchall()
        self.env["prm.stage.history"]._prm_sync_lead_facts()
        self.env.cr.execute(places)
        self.assertEqual(self.env.cr.fetchall(), before)  # nothing rewritten

    def test_reports_read_the_facts(self):
        """The Funnel report's conversion to won and the Source Quality
        report's value added come from the stored facts, through the ORM."""
        leads = self._valued("FG")
        won_lead = leads[0]
        rows = self.env["prm.funnel.report"].search_read(
            [("lead_id", "in", [x.id for x in leads])], ["lead_id", "won_rate"]
        )
        self.assertTrue(rows)
        for row in rows:
            expected = 100.0 if row["lead_id"][0] == won_lead.id else 0.0
            self.assertEqual(row["won_rate"], expected)
        truth = self._truth_values()
        for row in self.env["prm.source.report"].search_read(
            [("lead_id", "in", [x.id for x in leads])], ["lead_id", "value_added"]
        ):
            self.assertAlmostEqual(row["value_added"], truth[row["lead_id"][0]], 2)
        # a lead won in this transaction shows at once (the report's
        # dependencies flush it before the query)
        leads[1].toggle_active()
        self.env.flush_all()
        # a write the stage history does not watch: pending in the ORM
        leads[1].write({"probability": 100})
        self.env["prm.funnel.report"].invalidate_model()  # rows read above
        rows = self.env["prm.funnel.report"].search_read(
            [("lead_id", "=", leads[1].id)], ["won_rate"]
        )
        self.assertEqual({row["won_rate"] for row in rows}, {100.0})

    def test_source_report_reads_qualification_facts(self):
        """The Source Quality report's qualified and accepted leads and days
        to qualify come from the facts stored on the leads (prm_scoring)."""
        with self._at(0):
            lead, other = self._lead("Qualified"), self._lead("Never")
        Move = self.env["prm.qualification.entry"]
        for state, day in (("nurturing", 1), ("qualified", 2), ("accepted", 3)):
            Move.create(
                {
                    "lead_id": lead.id,
                    "from_state": "new",
                    "to_state": state,
                    "date": lead.create_date + timedelta(days=day),
                }
            )
        rows = {
            row["lead_id"][0]: row
            for row in self.env["prm.source.report"].search_read(
                [("lead_id", "in", (lead + other).ids)],
                ["lead_id", "qualified", "accepted", "days_to_qualify"],
            )
        }
        self.assertEqual(
            (rows[lead.id]["qualified"], rows[lead.id]["accepted"]), (1, 1)
        )
        self.assertAlmostEqual(rows[lead.id]["days_to_qualify"], 2.0, 3)
        self.assertEqual(
            (rows[other.id]["qualified"], rows[other.id]["accepted"]), (0, 0)
        )

    @RANDOM_SETTINGS
    @given(RANDOM_STEPS)
    def test_random_changes_stay_exact(self, steps):
        """Any sequence of stage moves, wins, losses, restores, merges,
        revaluations and deletions leaves both facts exact."""
        with self.rolled_back():
            self._random_changes(steps, self._assert_exact)

    def test_uninstall_drops_the_facts(self):
        """Uninstalling removes the value table, the functions and the
        trigger on crm_lead (the stays' table goes with the module)."""
        with self.rolled_back():
            uninstall_hook(self.env)
            self.env.cr.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname = 'prm_lead_won'"
            )
            self.assertEqual(self.env.cr.fetchone()[0], 0)
            self.env.cr.execute("SELECT to_regclass('prm_lead_value_added')")
            self.assertIsNone(self.env.cr.fetchone()[0])
            self.env.cr.execute(
                "SELECT count(*) FROM pg_proc WHERE proname = 'prm_stays_changed'"
            )
            self.assertEqual(self.env.cr.fetchone()[0], 0)
