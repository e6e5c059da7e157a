# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import doctest
from numbers import Number
from unittest.mock import patch

from hypothesis import given

from odoo.models import BaseModel
from odoo.modules.migration import load_script
from odoo.tests import new_test_user, tagged

from odoo.addons.prm_tracking.tools import engagement_rollup, rollup

from ..hooks import uninstall_hook
from ..models import prm_stays_report_mixin
from ..models.prm_stays_report_mixin import PrmStaysReportMixin
from ..tools import stay_rollup
from .test_prm_stage_history import RANDOM_SETTINGS, RANDOM_STEPS, StageHistoryCommon

REPORTS = ("prm.funnel.report", "prm.value.report")


@tagged("post_install", "-at_install", "prm_funnel")
class TestPrmStayRollup(StageHistoryCommon):
    """The Funnel and Valued Progression pivots answered from the sums kept
    per combination equal the same pivots summed over the stays."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="f_rollup_manager",
            groups="sales_team.group_sale_manager,prm_tracking.group_prm_user",
        )
        cls.salesperson = new_test_user(
            cls.env,
            login="f_rollup_sales",
            groups="sales_team.group_sale_salesman,prm_tracking.group_prm_user",
        )
        source = cls.env["utm.source"].create({"name": "Rollup source"})
        other_team = cls.env["crm.team"].create({"name": "Rollup team 2"})
        leads = [
            cls.env["crm.lead"].create(
                {
                    "name": f"Rollup {i}",
                    "type": "opportunity",
                    "team_id": (cls.team if i % 2 else other_team).id,
                    "user_id": (cls.salesperson if i % 3 else cls.manager).id,
                    "source_id": source.id if i % 2 else False,
                    "stage_id": cls.new.id,
                    "expected_revenue": 1000.0 * (i + 1),
                }
            )
            for i in range(6)
        ]
        for lead in leads[:4]:
            lead.stage_id = cls.qual
        leads[0].stage_id = cls.prop
        leads[0].action_set_won()
        leads[1].action_set_lost(lost_reason_id=cls.lost_reason.id)
        leads[2].stage_id = cls.new
        cls.env["prm.stage.win.rate"]._prm_refresh()
        cls.env.flush_all()

    def _sums(self, sql):
        """{dimensions: measures} of rows (dimensions, then measures), the
        combinations without stays left out."""
        self.env.flush_all()
        self.env.cr.execute(sql)
        n = len(stay_rollup.DIMS)
        return {
            row[:n]: tuple(float(v) for v in row[n:])
            for row in self.env.cr.fetchall()
            if row[n]
        }

    def _assert_rollup_exact(self):
        """The sums with their pending changes equal the stays summed."""
        columns = stay_rollup.STAYS.all_columns
        self.assertEqual(
            self._sums(f"SELECT {columns} FROM ({stay_rollup.REPORT}) r"),
            self._sums(stay_rollup.live_sql()),
        )

    def _pivot_calls(self, report):
        """The calls the pivot view makes to open, with all its measures, and
        a few more groupings and aggregates."""
        measures = [
            f"{name}:{field.aggregator or 'sum'}"
            for name, field in report._fields.items()
            if name in report._prm_rollup_measures
        ]
        measures += ["user_id:count_distinct", "team_id:max", "source_id:min"]
        if "duration_days" in report._fields:
            measures.append("duration_days:sum")
        groupbys = [[], ["stage_id"], ["team_id", "source_id"], ["user_id"]]
        if "exit_kind" in report._fields:
            groupbys.append(["stage_id", "exit_kind"])
        return [(gb, ["__count", *measures]) for gb in groupbys]

    def _domains(self):
        """Domains on kept fields, in the shapes a search view builds."""
        return [
            [("stage_id", "in", [self.qual.id, self.prop.id])],
            [("source_id", "=", False)],
            ["!", ("stage_id", "=", self.qual.id)],
            [("stage_id", "any", [("sequence", ">", 1)])],
            ["|", ("user_id.login", "=", "f_rollup_sales"), ("team_id", "=", False)],
        ]

    def _both_ways(self, report, domain, groupby, aggregates, **kwargs):
        """(answer from the rollup, answer from the stays) of one call; the
        first may not read the stays."""
        with patch.object(
            type(report), "_prm_stays_query", side_effect=AssertionError("stays")
        ):
            fast = report._read_group(domain, groupby, aggregates, **kwargs)
        with patch.object(
            PrmStaysReportMixin, "_prm_rollup_serves", return_value=False
        ):
            slow = report._read_group(domain, groupby, aggregates, **kwargs)
        return fast, slow

    def _assert_same(self, fast, slow, ordered=False):
        self.assertEqual(len(fast), len(slow))
        if not ordered:
            fast, slow = sorted(fast, key=str), sorted(slow, key=str)
        for got, want in zip(fast, slow, strict=True):
            for a, b in zip(got, want, strict=True):
                if b is None:
                    self.assertIsNone(a)
                elif isinstance(b, Number):
                    self.assertAlmostEqual(float(a), float(b), places=6)
                else:
                    self.assertEqual(a, b)
                    if isinstance(b, BaseModel):  # in the caller's environment
                        self.assertEqual(a.env, b.env)

    def _assert_pivots_alike(self, user):
        for name in REPORTS:
            report = self.env[name].with_user(user)
            for groupby, aggregates in self._pivot_calls(report):
                self.assertTrue(
                    report._prm_rollup_serves([], groupby, aggregates, (), None)
                )
                fast, slow = self._both_ways(report, [], groupby, aggregates)
                self.assertTrue(slow)
                self._assert_same(fast, slow)
            for domain in self._domains():
                fast, slow = self._both_ways(report, domain, ["team_id"], ["__count"])
                self._assert_same(fast, slow)
            fast, slow = self._both_ways(
                report,
                [],
                ["stage_id"],
                ["__count"],
                order="stage_id",
                limit=2,
                offset=1,
            )
            self._assert_same(fast, slow, ordered=True)

    def test_pivots_read_the_sums_alike(self):
        """As a manager, every opening call of both pivots (and groupings by
        team, source, salesperson, exit, filters on kept fields, an order and
        a page) is answered from the sums, equal to the stays summed, pending
        changes and folded sums alike."""
        self._assert_pivots_alike(self.manager)
        self.assertTrue(self.env["prm.funnel.report"]._prm_fold_stays())
        self._assert_pivots_alike(self.manager)

    def test_other_calls_read_the_stays(self):
        """A date, a lead, a maximum or an order on a field the sums lack is
        answered from the stays, whatever context the client sends."""
        report = self.env["prm.funnel.report"].with_user(self.manager)
        serves = report._prm_rollup_serves
        self.assertFalse(serves([], ["date_enter:month"], ["__count"], (), None))
        self.assertFalse(serves([("lead_id", "!=", False)], [], ["__count"], (), None))
        self.assertFalse(serves([], [], ["entered:max"], (), None))
        self.assertFalse(serves([], [], ["stage_id:array_agg"], (), None))
        self.assertFalse(serves([], [], ["__count"], [("__count", ">", 1)], None))
        self.assertFalse(serves([], ["stage_id"], ["__count"], (), "date_enter"))
        self.assertTrue(serves([], ["stage_id"], ["__count"], (), "entered:sum desc"))
        # a client's context cannot switch a call to the sums
        [(count,)] = report._read_group([("lead_id", "!=", False)], [], ["__count"])
        forced = report.with_context(prm_rollup=True)
        self.assertEqual(
            forced._read_group([("lead_id", "!=", False)], [], ["__count"]),
            [(count,)],
        )
        self.assertEqual(len(forced.search([])), count)

    def _own_stays(self):
        """How many stays of open stages the salesperson may see: those of
        their own leads and unassigned ones, as the leads say now."""
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT count(*) FROM prm_stage_history h
                 JOIN crm_stage s ON s.id = h.stage_id
                 JOIN crm_lead l ON l.id = h.lead_id
                WHERE NOT COALESCE(s.is_won, false)
                  AND (l.user_id = %s OR l.user_id IS NULL)""",
            [self.salesperson.id],
        )
        return self.env.cr.fetchone()[0]

    def test_salesperson_pivots_read_the_sums(self):
        """A salesperson's pivots (their rule reads the lead's salesperson
        now, kept on the stays) are answered from the sums, equal to the
        stays summed, and follow a lead given to them or taken away in the
        same transaction."""
        self._assert_pivots_alike(self.salesperson)
        own = self.env["prm.funnel.report"].with_user(self.salesperson)
        [(count,)] = own._read_group([], [], ["__count"])
        self.assertEqual(count, self._own_stays())
        self.assertGreater(count, 0)
        mine = self.env["crm.lead"].search(
            [("name", "like", "Rollup "), ("user_id", "=", self.salesperson.id)]
        )
        theirs = self.env["crm.lead"].search(
            [("name", "like", "Rollup "), ("user_id", "=", self.manager.id)]
        )
        with self.rolled_back():
            # pending in the ORM: the report's dependencies flush them
            mine[0].user_id = self.manager
            theirs[0].user_id = self.salesperson
            (mine[1] + theirs[1]).user_id = False
            [(moved,)] = own._read_group([], [], ["__count"])
            self.assertEqual(moved, self._own_stays())
            self.assertNotEqual(moved, count)
            self._assert_pivots_alike(self.salesperson)
            self._assert_rollup_exact()

    def test_stays_without_facts_are_nobodys(self):
        """A stay without a lead, and one loaded with the triggers off (its
        lead's salesperson never set), are no salesperson's until the daily
        sync sets the latter from its lead; the manager sees both."""
        own = self.env["prm.funnel.report"].with_user(self.salesperson)
        everyone = self.env["prm.funnel.report"].with_user(self.manager)
        [(mine,)] = own._read_group([], [], ["__count"])
        [(all_,)] = everyone._read_group([], [], ["__count"])
        lead = self.env["crm.lead"].search(
            [("name", "like", "Rollup "), ("user_id", "=", self.salesperson.id)],
            limit=1,
        )
        insert = """
            INSERT INTO prm_stage_history (lead_id, lead_ref, stage_id, date_enter,
                   origin, exit_kind, is_initial, company_id)
            VALUES (%s, %s, %s, now() at time zone 'UTC', 'live', 'open', false, %s)
        """
        with self.rolled_back():
            self.env.cr.execute(
                insert, [None, lead.id, self.qual.id, self.env.company.id]
            )
            self.env.cr.execute("ALTER TABLE prm_stage_history DISABLE TRIGGER USER")
            self.env.cr.execute(
                insert, [lead.id, lead.id, self.qual.id, self.env.company.id]
            )
            self.env.cr.execute("ALTER TABLE prm_stage_history ENABLE TRIGGER USER")
            self.assertTrue(self.env["prm.funnel.report"]._prm_rebuild_stays())
            self.assertEqual(own._read_group([], [], ["__count"]), [(mine,)])
            self.assertEqual(everyone._read_group([], [], ["__count"]), [(all_ + 2,)])
            self.env["prm.stage.history"]._prm_sync_lead_facts()
            self.assertEqual(own._read_group([], [], ["__count"]), [(mine + 1,)])
            self.assertEqual(own.search_count([]), mine + 1)

    def test_fold_and_rebuild(self):
        """The fold empties the pending changes and removes combinations left
        at zero; the rebuild mends sums changed behind the triggers' back and
        rewrites nothing when they are right."""
        cr = self.env.cr
        report = self.env["prm.funnel.report"]
        self.assertTrue(report._prm_fold_stays())
        cr.execute("SELECT count(*) FROM prm_stay_delta")
        self.assertEqual(cr.fetchone()[0], 0)
        self._assert_rollup_exact()
        with self.rolled_back():
            self.env["crm.lead"].search([("name", "like", "Rollup ")]).unlink()
            self.assertTrue(report._prm_fold_stays())
            self._assert_rollup_exact()
            cr.execute("SELECT count(*) FROM prm_stay_rollup WHERE stays = 0")
            self.assertEqual(cr.fetchone()[0], 0)
        cr.execute("UPDATE prm_stay_rollup SET stays = stays + 7, value_added = 1")
        self.assertTrue(report._prm_rebuild_stays())
        self._assert_rollup_exact()
        # a row written again would be a new version, at another place
        cr.execute("SELECT id, ctid::text FROM prm_stay_rollup ORDER BY id")
        before = cr.fetchall()
        self.assertTrue(report._prm_rebuild_stays())
        cr.execute("SELECT id, ctid::text FROM prm_stay_rollup ORDER BY id")
        self.assertEqual(cr.fetchall(), before)

    @RANDOM_SETTINGS
    @given(RANDOM_STEPS)
    def test_random_changes_stay_exact(self, steps):
        """Any sequence of stage moves, wins, losses, restores, merges,
        revaluations and deletions keeps the sums and their pending changes
        equal to the stays summed, before and after a fold, and the pivots'
        answers equal."""
        with self.rolled_back():
            self._random_changes(steps, self._assert_rollup_exact)
            self.assertTrue(self.env["prm.funnel.report"]._prm_fold_stays())
            self._assert_rollup_exact()
            self._assert_pivots_alike(self.manager)

    def test_update_with_other_columns_sums_again(self):
        """An update finding the tables with other columns (an earlier
        version's) makes them again and fills them; finding them right, it
        keeps them."""
        report = self.env["prm.funnel.report"]
        cr = self.env.cr
        with self.rolled_back():
            cr.execute("ALTER TABLE prm_stay_rollup DROP COLUMN open_revenue")
            cr.execute("ALTER TABLE prm_stay_delta DROP COLUMN open_revenue")
            report.init()
            self._assert_rollup_exact()
            cr.execute("SELECT count(*) FROM prm_stay_rollup")
            self.assertGreater(cr.fetchone()[0], 0)
            cr.execute("SELECT id, ctid::text FROM prm_stay_rollup ORDER BY id")
            before = cr.fetchall()
            report.init()
            cr.execute("SELECT id, ctid::text FROM prm_stay_rollup ORDER BY id")
            self.assertEqual(cr.fetchall(), before)

    def _value_stays(self, user):
        """How many stays `user` may see in the Valued Progression: those of
        their own leads and unassigned ones, as the leads say now."""
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT count(*) FROM prm_stage_history h
                 JOIN crm_lead l ON l.id = h.lead_id
                WHERE l.user_id = %s OR l.user_id IS NULL""",
            [user.id],
        )
        return self.env.cr.fetchone()[0]

    def test_update_from_won_now_alone(self):
        """An update from 18.0.1.6.0 (stays without their lead's salesperson
        now, sums without it, the former triggers, the salesperson rules on
        the lead) fills the stays, sums again, drops the former triggers and
        points the rules as shipped at the stays; a rule edited since is left
        alone and read from the stays."""
        cr = self.env.cr
        own = self.env["prm.funnel.report"].with_user(self.salesperson)
        [(count,)] = own._read_group([], [], ["__count"])
        migration = load_script(
            "prm_funnel/migrations/18.0.1.7.0/post-migration.py", "prm_funnel_1_7"
        )
        funnel_rule = self.env.ref("prm_funnel.prm_funnel_report_rule_personal_lead")
        value_rule = self.env.ref("prm_funnel.prm_value_report_rule_personal_lead")
        edited = "['|', ('lead_id.user_id', '=', user.id), ('lead_id', '=', False)]"
        with self.rolled_back():
            cr.execute(
                """
                ALTER TABLE prm_stage_history DROP COLUMN lead_user_id,
                    DROP COLUMN lead_unassigned;
                ALTER TABLE prm_stay_rollup DROP COLUMN lead_user_id,
                    DROP COLUMN lead_unassigned;
                ALTER TABLE prm_stay_delta DROP COLUMN lead_user_id,
                    DROP COLUMN lead_unassigned;
                -- (this version's, which names them: the former's is made
                -- again by the update)
                DROP FUNCTION prm_stay_rollup_changed() CASCADE;
                CREATE FUNCTION prm_lead_won_changed() RETURNS trigger
                    LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
                CREATE TRIGGER prm_lead_won AFTER UPDATE ON crm_lead
                    FOR EACH ROW EXECUTE FUNCTION prm_lead_won_changed();
                """
            )
            funnel_rule.domain_force = migration.FORMER
            value_rule.domain_force = edited
            self.env.flush_all()
            # the module's models, in the order its update initialises them
            self.registry.init_models(
                cr,
                [name for name, model in self.registry.items()
                 if model._original_module == "prm_funnel"],
                {"module": "prm_funnel"},
                install=False,
            )  # fmt: skip
            migration.migrate(cr, "18.0.1.6.0")
            self.assertEqual(funnel_rule.domain_force, migration.NOW)
            self.assertEqual(value_rule.domain_force, edited)
            self.env.invalidate_all()
            self.assertEqual(self._stored_facts(), self._truth_facts())
            self._assert_rollup_exact()
            cr.execute(
                "SELECT count(*) FROM pg_trigger "
                "WHERE tgname IN ('prm_lead_won', 'prm_stay_lead_won')"
            )
            self.assertEqual(cr.fetchone()[0], 0)
            self.assertEqual(own._read_group([], [], ["__count"]), [(count,)])
            self.assertTrue(
                own._prm_rollup_serves([], ["stage_id"], ["__count"], (), None)
            )
            # the edited rule names the lead: read from the stays, rightly
            value = self.env["prm.value.report"].with_user(self.salesperson)
            self.assertFalse(
                value._prm_rollup_serves([], ["stage_id"], ["__count"], (), None)
            )
            [(seen,)] = value._read_group([], [], ["__count"])
            self.assertEqual(seen, self._value_stays(self.salesperson))

    def test_uninstall_drops_the_sums(self):
        """Uninstalling removes the sums' tables, triggers and function."""
        with self.rolled_back():
            uninstall_hook(self.env)
            cr = self.env.cr
            cr.execute(
                "SELECT to_regclass('prm_stay_rollup'), to_regclass('prm_stay_delta')"
            )
            self.assertEqual(cr.fetchone(), (None, None))
            cr.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'prm_stay_rollup%'"
            )
            self.assertEqual(cr.fetchone()[0], 0)
            cr.execute(
                "SELECT count(*) FROM pg_proc WHERE proname = 'prm_stay_rollup_changed'"
            )
            self.assertEqual(cr.fetchone()[0], 0)

    def test_doctests(self):
        """The examples in the rollup modules' docstrings hold."""
        for module in (rollup, engagement_rollup, stay_rollup, prm_stays_report_mixin):
            result = doctest.testmod(module)
            self.assertGreater(result.attempted, 0, module.__name__)
            self.assertEqual(result.failed, 0, module.__name__)
