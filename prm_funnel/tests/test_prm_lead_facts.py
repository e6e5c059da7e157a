# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import doctest
from datetime import date, timedelta

from hypothesis import given

from odoo.tests import new_test_user, tagged

from ..hooks import uninstall_hook
from ..tools import lead_facts, source_facts
from ..tools.source_facts import COLUMNS
from .test_prm_stage_history import RANDOM_SETTINGS, RANDOM_STEPS, StageHistoryCommon


@tagged("post_install", "-at_install", "prm_funnel")
class TestPrmLeadFacts(StageHistoryCommon):
    """The facts the reports read instead of joining or summing (won now on
    each stay, value added per lead) equal what they stand for."""

    def _stored_won(self):
        return {stay: facts[0] for stay, facts in self._stored_facts().items()}

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

    def _sources(self, table, key):
        """[(lead id, copied columns...)] of `table` by `key`, in lead order."""
        self.env.flush_all()
        columns = ", ".join(COLUMNS)
        self.env.cr.execute(f"SELECT {key}, {columns} FROM {table} ORDER BY 1")
        return self.env.cr.fetchall()

    def _value_rows_off(self):
        """Lead ids of the value rows the Source Quality analysis would sum
        wrongly: keys other than their lead's, or a value for no lead."""
        self.env.flush_all()
        self.env.cr.execute(
            f"""SELECT v.lead_id FROM prm_lead_value_added v
                  LEFT JOIN crm_lead l ON l.id = v.lead_id
                 WHERE CASE WHEN l.id IS NULL THEN v.value_added <> 0
                            ELSE ({lead_facts._key_values("v")})
                                 IS DISTINCT FROM ({lead_facts._keys("l")}) END"""
        )
        return [row[0] for row in self.env.cr.fetchall()]

    def _assert_exact(self):
        self.env.flush_all()
        self.assertEqual(self._stored_facts(), self._truth_facts())
        self.assertEqual(self._stored_values(), self._truth_values())
        self.assertEqual(self._value_rows_off(), [])
        self.assertEqual(
            self._sources("prm_lead_source_facts", "lead_id"),
            self._sources("crm_lead", "id"),
        )

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

    def _lead_users_now(self, lead):
        """{(salesperson now id, unassigned now)} of the stays of `lead`."""
        stays = self.env["prm.stage.history"].search([("lead_id", "=", lead.id)])
        facts = self._stored_facts()
        return {facts[stay][1:] for stay in stays.ids}

    def test_salesperson_follows_the_lead(self):
        """Giving a lead to another salesperson, unassigning it, merging it
        and deleting its salesperson set "lead's salesperson now" on all of
        its stays, the new ones included, and leave the salesperson of each
        stay's time as it was."""
        seller = new_test_user(
            self.env, login="f_facts_seller", groups="sales_team.group_sale_salesman"
        )
        with self._at(0):
            lead = self._lead("Salesperson now")
            other = self._lead("Other")
        with self._at(1):
            lead.stage_id = self.qual
        at_the_time = self._stays(lead).mapped("user_id")
        self.assertEqual(at_the_time, self.env.user)
        with self._at(2):
            lead.user_id = seller
        self._assert_exact()
        self.assertEqual(self._lead_users_now(lead), {(seller.id, False)})
        self.assertEqual(self._stays(lead).mapped("user_id"), at_the_time)
        with self._at(3):
            lead.stage_id = self.prop  # a new stay
            lead.user_id = False
        self._assert_exact()
        self.assertEqual(self._lead_users_now(lead), {(None, True)})
        with self._at(4):
            lead.user_id = seller
            merged = (other + lead)._merge_opportunity(max_length=None)
        self._assert_exact()
        self.assertEqual(self._lead_users_now(merged), {(merged.user_id.id, False)})
        merged.user_id = seller
        seller.unlink()  # the leads' and the stays' salesperson emptied
        self._assert_exact()
        self.assertEqual(self._lead_users_now(merged), {(None, True)})

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

    def test_analysis_sums_value_by_the_leads_keys(self):
        """The Source Quality analysis's value added per source, summed from
        the value rows alone, equals the stays' sums of each source's leads,
        also after a lead changed source."""
        leads = self._valued("KLM")
        sources = self.env["utm.source"].create([{"name": "V1"}, {"name": "V2"}])
        leads[0].source_id = sources[0]
        (leads[1] + leads[2]).source_id = sources[1]
        analysis = self.env["prm.source.quality"].create(
            {"date_from": date(2026, 1, 1), "date_to": date(2026, 12, 31)}
        )

        def by_source():
            truth = self._truth_values()
            expected = {}
            for lead in (
                self.env["crm.lead"]
                .with_context(active_test=False)
                .browse([lead.id for lead in leads])
            ):
                source = lead.source_id.id or None
                expected[source] = expected.get(source, 0.0) + truth[lead.id]
            groups = analysis._groups()
            return {key: groups[key]["value_added"] for key in expected}, expected

        found, expected = by_source()
        self.assertEqual(found, expected)
        self.assertGreater(expected[sources[0].id], 0.0)
        leads[0].source_id = sources[1]
        found, expected = by_source()
        self.assertEqual(found, expected)
        self.assertNotIn(sources[0].id, expected)
        self.assertNotIn(sources[0].id, analysis._groups())

    def test_doctests(self):
        """The examples in tools/lead_facts.py's docstrings hold."""
        result = doctest.testmod(lead_facts)
        self.assertEqual(result.failed, 0)
        self.assertGreater(result.attempted, 0)

    def test_value_table_without_keys_made_again(self):
        """A value table of a version without the keys is made again, and
        filled, when the module is updated."""
        self._valued("NO")
        self.env.cr.execute("ALTER TABLE prm_lead_value_added DROP COLUMN site_id")
        self.env["prm.stage.history"].init()
        self._assert_exact()
        self.assertTrue(self._stored_values())

    def test_sync_mends_the_facts(self):
        """Facts changed behind the triggers' back are put right by the daily
        refresh, which writes only what differs."""
        leads = self._valued("DE")
        self.env.cr.execute(
            "UPDATE prm_stage_history SET lead_won = NOT lead_won, "
            "lead_user_id = CASE WHEN lead_user_id IS NULL THEN %s END, "
            "lead_unassigned = NOT lead_unassigned",
            [self.env.uid],
        )
        self.env.cr.execute(
            "UPDATE prm_lead_value_added SET value_added = value_added + 7, "
            "source_id = NULL, team_id = NULL, referrer_domain = 'x.example', "
            "create_date = create_date - interval '1 day'"
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

    def test_source_facts_follow_the_leads(self):
        """The Source Quality report's copy of the leads follows creations,
        writes of the ORM and of SQL (scores, first touch, qualification,
        salesperson, UTM, company, closing) and deletions."""
        leads = self._valued("HIJ")
        self._assert_exact()
        source = self.env["utm.source"].create({"name": "Facts source"})
        leads[0].write({"user_id": False, "source_id": source.id})
        leads[2].write({"expected_revenue": 4321.0, "probability": 35})
        self._assert_exact()
        self.env.cr.execute(
            "UPDATE crm_lead SET prm_score = 42.5, prm_fit_score = 12, "
            "prm_last_seen = now() at time zone 'UTC', "
            "prm_first_referrer_domain = 'example.org' WHERE id = %s",
            [leads[1].id],
        )
        self._assert_exact()
        self.env["prm.qualification.entry"].create(
            {"lead_id": leads[2].id, "from_state": "new", "to_state": "qualified"}
        )
        self._assert_exact()
        company = self.env["res.company"].create({"name": "Facts company"})
        leads[2].write({"company_id": company.id, "team_id": False, "user_id": False})
        self._assert_exact()
        self.env.cr.execute(
            "INSERT INTO crm_lead (name, type, active, probability, company_id, "
            "prm_qualification, create_date) "
            "VALUES ('By SQL', 'lead', true, 10, %s, 'new', now())",
            [self.env.company.id],
        )
        self._assert_exact()
        leads[0].unlink()
        self._assert_exact()
        rows = self.env["prm.source.report"].search_read(
            [("lead_id", "=", leads[1].id)], ["score", "fit", "engaged"]
        )
        self.assertEqual(
            (rows[0]["score"], rows[0]["fit"], rows[0]["engaged"]), (42.5, 12.0, 1)
        )

    def test_source_facts_sync(self):
        """The copy changed behind the triggers' back is put right by the
        daily refresh, which then writes nothing more."""
        leads = self._valued("KL")
        self.env.cr.execute(
            "UPDATE prm_lead_source_facts SET prm_score = -1, source_id = NULL"
        )
        self.env.cr.execute(
            "DELETE FROM prm_lead_source_facts WHERE lead_id = %s", [leads[0].id]
        )
        self.env["prm.stage.history"]._cron_prm_refresh()
        self._assert_exact()
        places = "SELECT array_agg(ctid ORDER BY lead_id) FROM prm_lead_source_facts"
        self.env.cr.execute(places)
        before = self.env.cr.fetchall()
        self.env["prm.source.report"]._prm_sync_facts()
        self.env.cr.execute(places)
        self.assertEqual(self.env.cr.fetchall(), before)  # nothing rewritten

    def test_source_report_reads_the_copy(self):
        """The Source Quality report reads the copy, flushed first: a lead
        written through the ORM shows at once, a value changed in the copy
        alone shows in the report until the daily refresh mends it."""
        leads = self._valued("MN")
        leads += self.env["crm.lead"].create(
            [{"name": f"Batch {i}", "type": "opportunity"} for i in range(3)]
        )  # one INSERT of several leads
        self._assert_exact()
        leads[0].write({"user_id": False})  # pending in the ORM
        Report = self.env["prm.source.report"]
        rows = Report.search_read([("lead_id", "=", leads[0].id)], ["user_id"])
        self.assertFalse(rows[0]["user_id"])
        self.env.cr.execute(
            "UPDATE prm_lead_source_facts SET prm_score = 77 WHERE lead_id = %s",
            [leads[1].id],
        )
        Report.invalidate_model()
        rows = Report.search_read([("lead_id", "=", leads[1].id)], ["score"])
        self.assertEqual(rows[0]["score"], 77.0)
        self.env["prm.stage.history"]._cron_prm_refresh()
        self._assert_exact()

    def test_source_copy_orphans_and_shape(self):
        """The copy's daily sync removes the rows of leads deleted with the
        triggers off; an update finding the copy with other columns than
        the leads' makes it again."""
        leads = self._valued("OP")
        self.env.cr.execute("SET LOCAL session_replication_role = replica")
        self.env.cr.execute("DELETE FROM crm_lead WHERE id = %s", [leads[0].id])
        self.env.cr.execute("SET LOCAL session_replication_role = origin")
        leads[0].invalidate_recordset()
        # the daily refresh's part (its other parts would trip on the stays
        # left behind by the same deletion)
        self.env["prm.source.report"]._prm_sync_facts()
        self.assertEqual(
            self._sources("prm_lead_source_facts", "lead_id"),
            self._sources("crm_lead", "id"),
        )
        Report = self.env["prm.source.report"]
        for change in (
            "DROP COLUMN prm_score",
            "ALTER COLUMN prm_last_seen TYPE date",
            "DROP CONSTRAINT prm_lead_source_facts_lead_id_fkey",
        ):
            self.env.cr.execute(f"ALTER TABLE prm_lead_source_facts {change}")
            self.env.cr.execute(source_facts.stale_sql())
            self.assertTrue(self.env.cr.fetchone()[0], change)
            Report.init()
            self.env.cr.execute(source_facts.stale_sql())
            self.assertFalse(self.env.cr.fetchone()[0], change)
            self.assertEqual(
                self._sources("prm_lead_source_facts", "lead_id"),
                self._sources("crm_lead", "id"),
            )

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
        revaluations and deletions leaves the facts and the leads' copy
        exact."""
        with self.rolled_back():
            self._random_changes(steps, self._assert_exact)

    def test_uninstall_drops_the_facts(self):
        """Uninstalling removes the value table, the leads' copy, the
        functions and the triggers on crm_lead (the stays' table goes with
        the module)."""
        with self.rolled_back():
            uninstall_hook(self.env)
            self.env.cr.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname IN "
                "('prm_lead_facts', 'prm_stay_lead_facts')"
            )
            self.assertEqual(self.env.cr.fetchone()[0], 0)
            self.env.cr.execute("SELECT to_regclass('prm_lead_value_added')")
            self.assertIsNone(self.env.cr.fetchone()[0])
            self.env.cr.execute(
                "SELECT count(*) FROM pg_proc WHERE proname IN "
                "('prm_stays_changed', 'prm_source_facts_changed', "
                "'prm_source_facts_inserted', 'prm_lead_facts_changed', "
                "'prm_stay_lead_facts')"
            )
            self.assertEqual(self.env.cr.fetchone()[0], 0)
            self.env.cr.execute("SELECT to_regclass('prm_lead_source_facts')")
            self.assertIsNone(self.env.cr.fetchone()[0])
            self.env.cr.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'prm_source_facts%'"
            )
            self.assertEqual(self.env.cr.fetchone()[0], 0)
