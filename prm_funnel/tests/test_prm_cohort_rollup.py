# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import doctest
from collections import defaultdict
from datetime import date

from hypothesis import given

from odoo.tests import new_test_user, tagged

from odoo.addons.prm_tracking.tools.planner import without_jit

from ..engine import Stay, stage_counts
from ..engine.funnel import SOURCE_SUMS
from ..hooks import uninstall_hook
from ..tools import cohort_rollup, pipeline_rollup
from .test_prm_stage_history import RANDOM_SETTINGS, RANDOM_STEPS, StageHistoryCommon

# periods (first day, last day): whole months only, partial months around
# whole ones, a few days across a month's end, one month
PERIODS = (
    (date(2026, 1, 1), date(2026, 4, 30)),
    (date(2026, 1, 20), date(2026, 3, 10)),
    (date(2026, 2, 27), date(2026, 3, 2)),
    (date(2026, 3, 1), date(2026, 3, 31)),
    (date(2026, 3, 2), date(2026, 4, 19)),  # Monday to Sunday: whole weeks
)


@tagged("post_install", "-at_install", "prm_funnel")
class TestPrmCohortRollup(StageHistoryCommon):
    """The funnel analysis counted from the cohort sums (and from the stays
    for the days around its whole weeks) equals the same cohort counted in
    Python from its stays, and its velocity figures from the pipeline sums
    equal those counted from the leads, as a manager and as a
    salesperson."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="f_cohort_manager",
            groups="sales_team.group_sale_manager,prm_tracking.group_prm_user",
        )
        cls.salesperson = new_test_user(
            cls.env,
            login="f_cohort_sales",
            groups="sales_team.group_sale_salesman,prm_tracking.group_prm_user",
        )
        cls.source = cls.env["utm.source"].create({"name": "Cohort source"})

    def setUp(self):
        super().setUp()
        # leads created over four months, some of them the salesperson's,
        # some nobody's, moved later
        self.leads = []
        for i, days in enumerate((-35, -3, 0, 20, 40, -3)):
            with self._at(days):
                self.leads.append(
                    self._lead(
                        f"Cohort {i}",
                        revenue=1000.0 * (i + 1),
                        user_id=[self.salesperson.id, self.manager.id, False][i % 3],
                        source_id=self.source.id if i % 2 else False,
                    )
                )
        moves = [(1, 0, self.qual), (2, 1, self.prop), (5, 2, self.qual)]
        for days, i, stage in moves:
            with self._at(days + 40):
                self.leads[i].stage_id = stage
        with self._at(45):
            self.leads[1].action_set_won()
            self.leads[2].action_set_lost(lost_reason_id=self.lost_reason.id)

    # ------------------------------------------------------------------

    def _sums(self, sql, rollup=cohort_rollup.COHORTS):
        """{dimensions: measures} of rows, the empty combinations left out."""
        self.env.flush_all()
        self.env.cr.execute(sql)
        n = len(rollup.dims)
        return {
            tuple(tuple(v) if isinstance(v, list) else v for v in row[:n]): tuple(
                float(v) for v in row[n:]
            )
            for row in self.env.cr.fetchall()
            if any(row[n:])
        }

    def _assert_rollup_exact(self):
        """The cohort and pipeline sums with their pending changes equal
        every lead and its stays counted again."""
        for rollup, live in (
            (cohort_rollup.COHORTS, cohort_rollup.LIVE),
            (pipeline_rollup.PIPELINE, pipeline_rollup.SUMMED),
        ):
            self.assertEqual(
                self._sums(
                    f"SELECT {rollup.all_columns} FROM ({rollup.report}) r", rollup
                ),
                self._sums(live, rollup),
            )

    def _analysis(self, user, start, end, **filters):
        return (
            self.env["prm.funnel.analysis"]
            .with_user(user)
            .create(dict(date_from=start, date_to=end, **filters))
        )

    def _expected(self, analysis, pipeline):
        """(per stage, furthest, valued progression per source name) of the
        analysis's cohort, found and counted in Python from the stays, the
        values as the Valued Progression report defines them."""
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT h.*, l.id IS NOT NULL AS has_lead, l.user_id AS owner "
            "FROM prm_stage_history h LEFT JOIN crm_lead l ON l.id = h.lead_id "
            "ORDER BY h.id"
        )
        stays = self.env.cr.dictfetchall()
        start, end = analysis._period()
        own = analysis._own_leads_only()
        company = analysis.company_id.id
        first = {}  # each lead's first stay: the lowest id of its first stays
        for stay in stays:
            if stay["is_initial"]:
                first.setdefault(stay["lead_ref"], stay)
        cohort = {
            ref
            for ref, stay in first.items()
            if stay["lead_create_date"]
            and start <= stay["lead_create_date"] < end
            and (stay["company_id"] or company) == company
            and all(
                not analysis[f] or analysis[f].id == stay[f]
                for f in ("team_id", "user_id", "source_id")
            )
            and (
                not own
                or (stay["has_lead"] and stay["owner"] in (analysis.env.uid, None))
            )
        }
        mine = [stay for stay in stays if stay["lead_ref"] in cohort]
        won = set(self.env["crm.stage"].search([("is_won", "=", True)]).ids)
        per_stage, furthest = stage_counts(
            [
                Stay(s["lead_ref"], s["stage_id"], s["exit_kind"], s["duration_days"])
                for s in mine
            ],
            pipeline,
            won,
        )
        per_source = {}
        for stay in mine:
            name = self.env["utm.source"].browse(stay["source_id"]).name or ""
            acc = per_source.setdefault(name, defaultdict(float))
            value, delta = stay["value"] or 0.0, stay["value_delta"] or 0.0
            if stay["is_initial"]:
                acc["leads"] += 1
                acc["initial_value"] += value
            elif delta > 0:
                acc["value_added"] += delta
            else:
                acc["value_lost"] -= delta
            if stay["exit_kind"] in ("lost", "merged"):
                acc["value_lost"] += value
            if stay["stage_id"] in won and stay["exit_kind"] == "open":
                acc["won_revenue"] += stay["expected_revenue"] or 0.0
        return per_stage, furthest, per_source

    def _expected_velocity(self, analysis):
        """The velocity figures of the analysis counted from the leads."""
        start, end = analysis._period()
        leads = (
            self.env["crm.lead"]
            .with_context(active_test=False)
            .search([])
            .filtered(
                lambda lead: (lead.company_id.id or analysis.company_id.id)
                == analysis.company_id.id
                and all(
                    not analysis[f] or analysis[f] == lead[f]
                    for f in ("team_id", "user_id", "source_id")
                )
                and (
                    not analysis._own_leads_only()
                    or lead.user_id.id in (analysis.env.uid, False)
                )
            )
        )
        closed = leads.filtered(
            lambda lead: lead.date_closed and start <= lead.date_closed < end
        )
        won = closed.filtered(lambda lead: lead.active and lead.probability == 100)
        lost = closed.filtered(lambda lead: not lead.active and lead.probability == 0)
        opened = leads.filtered(
            lambda lead: lead.active
            and lead.type == "opportunity"
            and not lead.stage_id.is_won
        )
        stays = self.env["prm.stage.history"].search(
            [("lead_id", "in", opened.ids), ("exit_kind", "=", "open")]
        )
        cycles = [(x.date_closed - x.create_date).total_seconds() / 86400 for x in won]
        return {
            "closed_won": len(won),
            "closed_lost": len(lost),
            "avg_deal": sum(won.mapped("expected_revenue")) / len(won) if won else 0,
            "cycle_days": sum(cycles) / len(cycles) if cycles else 0,
            "open_opportunities": len(opened),
            "pipeline": sum(opened.mapped("expected_revenue")),
            "weighted_pipeline": sum(stays.mapped("value")),
        }

    def _assert_velocity_exact(self, analysis):
        figures = analysis._velocity()
        for key, value in self._expected_velocity(analysis).items():
            self.assertAlmostEqual(figures[key], value, places=4, msg=key)
        return figures

    def _assert_analysis_exact(self, user, start, end, **filters):
        analysis = self._analysis(user, start, end, **filters)
        self._assert_velocity_exact(analysis)
        pipeline = analysis._stages().ids
        per_stage, furthest, per_source = analysis._funnel_counts(pipeline)
        expected_stages, expected_furthest, expected_sources = self._expected(
            analysis, pipeline
        )

        def rounded(table):
            return {
                stage: {k: v if v is None else round(v, 9) for k, v in row.items()}
                for stage, row in table.items()
            }

        context = (user.login, start, end, filters)
        self.assertEqual(rounded(per_stage), rounded(expected_stages), context)
        self.assertEqual(furthest, expected_furthest, context)
        self.assertEqual(per_source.keys(), expected_sources.keys(), context)
        for name, acc in expected_sources.items():
            for key in SOURCE_SUMS:
                self.assertAlmostEqual(
                    per_source[name][key], acc[key], places=6, msg=(context, key)
                )
        return furthest

    def _assert_analyses_exact(self):
        for user in (self.manager, self.salesperson):
            for start, end in PERIODS:
                self._assert_analysis_exact(user, start, end)
            self._assert_analysis_exact(user, *PERIODS[1], source_id=self.source.id)
            self._assert_analysis_exact(user, *PERIODS[1], team_id=self.team.id)

    # ------------------------------------------------------------------

    def test_analysis_reads_the_sums_exactly(self):
        """Over whole months, partial ones, a few days across a month's end,
        with and without filters, as a manager and as a salesperson, the
        analysis counts what its cohort's stays count, pending changes and
        folded sums alike."""
        self._assert_rollup_exact()
        furthest = self._assert_analysis_exact(self.manager, *PERIODS[0])
        self.assertEqual(sum(furthest.values()), len(self.leads))
        figures = self._analysis(
            self.manager, *PERIODS[0], team_id=self.team.id
        )._velocity()
        self.assertEqual((figures["closed_won"], figures["closed_lost"]), (1, 1))
        self.assertEqual(figures["open_opportunities"], len(self.leads) - 2)
        self._assert_analyses_exact()
        self.assertTrue(self.env["prm.funnel.report"]._prm_fold_stays())
        self._assert_rollup_exact()
        self._assert_analyses_exact()

    def test_reassigned_and_deleted_leads(self):
        """A lead given to the salesperson counts in their analysis at once,
        a lead taken from them or deleted no longer does, before and after
        the sums are folded."""
        self.assertTrue(self.env["prm.funnel.report"]._prm_fold_stays())
        before = self._assert_analysis_exact(self.salesperson, *PERIODS[0])
        self.leads[1].user_id = self.salesperson  # the manager's
        self.leads[0].user_id = self.manager  # the salesperson's
        self.leads[2].unlink()  # nobody's
        self._assert_rollup_exact()
        after = self._assert_analysis_exact(self.salesperson, *PERIODS[0])
        self.assertNotEqual(after, before)
        self.assertTrue(self.env["prm.funnel.report"]._prm_fold_stays())
        self._assert_rollup_exact()
        self._assert_analyses_exact()

    def test_fold_and_rebuild(self):
        """The fold empties the pending changes; the rebuild mends sums
        changed behind the triggers' back and rewrites nothing when they are
        right."""
        cr = self.env.cr
        report = self.env["prm.funnel.report"]
        self.assertTrue(report._prm_fold_stays())
        cr.execute("SELECT count(*) FROM prm_cohort_delta")
        self.assertEqual(cr.fetchone()[0], 0)
        self._assert_rollup_exact()
        cr.execute("UPDATE prm_cohort_rollup SET n = n + 3, value_lost = 1")
        self.assertTrue(report._prm_rebuild_stays())
        self._assert_rollup_exact()
        cr.execute("SELECT id, ctid::text FROM prm_cohort_rollup ORDER BY id")
        before = cr.fetchall()
        self.assertTrue(report._prm_rebuild_stays())
        cr.execute("SELECT id, ctid::text FROM prm_cohort_rollup ORDER BY id")
        self.assertEqual(cr.fetchall(), before)

    def _random_owners(self):
        return [self.salesperson, self.manager, self.env["res.users"]]

    @RANDOM_SETTINGS
    @given(RANDOM_STEPS)
    def test_random_changes_stay_exact(self, steps):
        """Any sequence of stage moves, wins, losses, restores, merges,
        revaluations, reassignments and deletions (of one lead or two in a
        statement) keeps the sums and their pending changes equal to the
        stays counted again, and the analyses exact."""
        with self.rolled_back():
            self._random_changes(steps, self._assert_rollup_exact)
            self._assert_analysis_exact(self.manager, *PERIODS[1])
            self.assertTrue(self.env["prm.funnel.report"]._prm_fold_stays())
            self._assert_rollup_exact()
            self._assert_analysis_exact(self.salesperson, *PERIODS[0])

    def test_uninstall_drops_the_sums(self):
        """Uninstalling removes the cohort sums' tables, index, triggers and
        functions."""
        with self.rolled_back():
            uninstall_hook(self.env)
            cr = self.env.cr
            cr.execute(
                "SELECT to_regclass('prm_cohort_rollup'), "
                "to_regclass('prm_cohort_delta'), to_regclass(%s)",
                [cohort_rollup.FIRST_STAYS_INDEX],
            )
            self.assertEqual(cr.fetchone(), (None, None, None))
            for catalogue, name in (("pg_trigger", "tgname"), ("pg_proc", "proname")):
                cr.execute(
                    f"SELECT count(*) FROM {catalogue} WHERE {name} LIKE 'prm_cohort%'"
                )
                self.assertEqual(cr.fetchone()[0], 0)

    def test_big_queries_without_jit(self):
        """The analyses' big queries run without JIT compilation, and the
        transaction's setting is back after them."""
        cr = self.env.cr
        for setting in ("on", "off"):
            cr.execute("SELECT set_config('jit', %s, true)", [setting])
            with without_jit(cr):
                cr.execute("SHOW jit")
                self.assertEqual(cr.fetchone()[0], "off")
            cr.execute("SHOW jit")
            self.assertEqual(cr.fetchone()[0], setting)

    def test_doctests(self):
        """The examples in the cohort and pipeline sums' docstrings hold."""
        for module in (cohort_rollup, pipeline_rollup):
            result = doctest.testmod(module)
            self.assertGreater(result.attempted, 0, module.__name__)
            self.assertEqual(result.failed, 0, module.__name__)
