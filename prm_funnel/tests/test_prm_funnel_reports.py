# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import math
import shutil
from datetime import date

from odoo import SUPERUSER_ID, api
from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger

from ..engine import Stay, stage_counts
from .test_prm_stage_history import StageHistoryCommon


@tagged("post_install", "-at_install", "prm_funnel")
class TestPrmFunnelReports(StageHistoryCommon):
    """Five leads through New -> Qualified -> Proposition -> Won, by hand:

    1 (Ads, 1000): New 2 d, Qualified 4 d, Proposition 6 d, won on day 12
    2 (Ads, 2000): New 1 d, Proposition 3 d, back to Qualified (still there)
    3 (Fair, 1000): New 5 d, lost
    4 (Fair, 1000): New 3 d, Qualified 8 d, lost
    5 (Fair, 1000): still in New

    No lead was closed before, so every stage is worth 50 % (won 100 %).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ads = cls.env["utm.source"].create({"name": "F Ads"})
        fair = cls.env["utm.source"].create({"name": "F Fair"})
        cls.sources = ads, fair

    def setUp(self):
        super().setUp()
        ads, fair = self.sources
        with self._at(0):
            self.leads = [
                self._lead(f"F{i}", revenue, source_id=source.id)
                for i, (revenue, source) in enumerate(
                    [
                        (1000, ads),
                        (2000, ads),
                        (1000, fair),
                        (1000, fair),
                        (1000, fair),
                    ],
                    start=1,
                )
            ]
        one, two, three, four, _five = self.leads
        with self._at(1):
            two.stage_id = self.prop
        with self._at(2):
            one.stage_id = self.qual
        with self._at(3):
            four.stage_id = self.qual
        with self._at(4):
            two.stage_id = self.qual
        with self._at(5):
            three.action_set_lost()
        with self._at(6):
            one.stage_id = self.prop
        with self._at(11):
            four.action_set_lost()
        with self._at(12):
            one.action_set_won()

    def _analysis(self, **vals):
        analysis = self.env["prm.funnel.analysis"].create(
            dict(
                date_from=date(2026, 3, 1),
                date_to=date(2026, 3, 31),
                team_id=self.team.id,
                **vals,
            )
        )
        analysis.action_compute()
        return analysis

    def test_funnel_analysis(self):
        """Per stage: entered, reached, exits, conversions, drop-off and the
        median and mean days, exactly."""
        analysis = self._analysis()
        # titled by what and when, never "prm.funnel.analysis,1"
        self.assertEqual(
            analysis.display_name, "Funnel analysis, 1 Mar 2026 \u2013 31 Mar 2026"
        )
        lines = {line.stage_id: line for line in analysis.line_ids}
        new, qual, prop = lines[self.new], lines[self.qual], lines[self.prop]
        self.assertEqual(
            (new.entered, new.reached, new.advanced, new.lost, new.still_open),
            (5, 5, 3, 1, 1),
        )
        self.assertEqual(
            (qual.entered, qual.reached, qual.advanced, qual.lost, qual.still_open),
            (3, 3, 1, 1, 1),
        )
        self.assertEqual(
            (prop.entered, prop.reached, prop.won, prop.regressed), (2, 2, 1, 1)
        )
        self.assertAlmostEqual(new.conversion_next, 60.0)
        self.assertAlmostEqual(qual.conversion_next, 200 / 3)
        self.assertAlmostEqual(prop.conversion_next, 50.0)
        self.assertAlmostEqual(new.drop_off, 40.0)
        self.assertAlmostEqual(new.conversion_won, 20.0)
        self.assertEqual((new.median_days, new.mean_days), (2.5, 2.75))  # 2 1 5 3
        self.assertEqual((qual.median_days, qual.mean_days), (6.0, 6.0))  # 4 8
        self.assertEqual((prop.median_days, prop.mean_days), (4.5, 4.5))  # 3 6
        self.assertEqual((analysis.leads, analysis.won), (5, 1))
        self.assertAlmostEqual(analysis.end_to_end, 20.0)

    def test_funnel_counts_match_engine(self):
        """The analysis counts stays in the database exactly as the engine's
        stage_counts counts the same stays in Python: with a stay in another
        team's stage (outside the pipeline), and with no pipeline at all."""
        elsewhere = self.env["crm.stage"].create(
            {"name": "F other team's stage", "team_id": self.env["crm.team"].create(
                {"name": "F other team"}).id, "sequence": 2}
        )  # fmt: skip
        with self._at(15):
            self.leads[4].stage_id = elsewhere
        analysis = self._analysis()
        self.env.cr.execute(
            "SELECT lead_ref, stage_id, exit_kind, duration_days "
            "FROM prm_stage_history WHERE lead_id = ANY(%s)",
            [[lead.id for lead in self.leads]],
        )
        stays = [Stay(*row) for row in self.env.cr.fetchall()]
        self.assertIn(elsewhere.id, {stay.stage for stay in stays})
        won_stages = set(self.env["crm.stage"].search([("is_won", "=", True)]).ids)

        def rounded(table):
            return {
                stage: {k: v if v is None else round(v, 9) for k, v in row.items()}
                for stage, row in table.items()
            }

        for pipeline in (analysis._stages().ids, []):
            per_stage, furthest, _sources = analysis._funnel_counts(pipeline)
            expected_stages, expected_furthest = stage_counts(
                stays, pipeline, won_stages
            )
            self.assertEqual(rounded(per_stage), rounded(expected_stages))
            self.assertEqual(furthest, expected_furthest)
        self.assertEqual(furthest, {(0, True): 1})  # no pipeline: the won lead

    def test_valued_progression(self):
        """Initial value, value added by progressions, value lost and won
        revenue per source, in the pivot report and the analysis."""
        ads, fair = self.sources
        rows = {
            source: values
            for source, *values in self.env["prm.value.report"]._read_group(
                [("lead_id.team_id", "=", self.team.id)],
                ["source_id"],
                [
                    "leads:sum",
                    "initial_value:sum",
                    "value_added:sum",
                    "value_lost:sum",
                    "net_value:sum",
                    "won_revenue:sum",
                ],
            )
        }
        # Ads: 500 + 1000 at creation; winning lead 1 adds 1000 - 500
        self.assertEqual(rows[ads], [2, 1500.0, 500.0, 0.0, 2000.0, 1000.0])
        # Fair: 3 x 500 at creation; leads 3 and 4 lost (500 each)
        self.assertEqual(rows[fair], [3, 1500.0, 0.0, 1000.0, 500.0, 0.0])
        analysis = self._analysis()
        by_name = {line.name: line for line in analysis.value_line_ids}
        self.assertAlmostEqual(by_name["F Ads"].won_over_initial, 1000 / 1500)
        self.assertFalse(by_name["F Fair"].won_over_initial)
        self.assertEqual(
            (analysis.initial_value, analysis.won_revenue, analysis.value_lost),
            (3000.0, 1000.0, 1000.0),
        )

    def test_funnel_pivot(self):
        """The pivot's counts and rates per stage (averages of 0/100 flags)."""
        rows = {
            stage: values
            for stage, *values in self.env["prm.funnel.report"]._read_group(
                [("team_id", "=", self.team.id)],
                ["stage_id"],
                [
                    "entered:sum",
                    "advanced:sum",
                    "lost:sum",
                    "advance_rate:avg",
                    "drop_rate:avg",
                    "duration_days:avg",
                ],
            )
        }
        self.assertEqual(rows[self.new], [5, 3, 1, 60.0, 20.0, 2.75])
        self.assertEqual(rows[self.prop][:3], [2, 0, 0])
        self.assertEqual(rows[self.prop][3], 50.0)  # won counts as a conversion

    def test_velocity(self):
        """March: 1 won, 2 lost, 12-day cycle, 2 opportunities open at the
        month's end: 2 x 1/3 x 1000 / 12 per day."""
        self.env["prm.velocity.report"]._cron_prm_refresh()
        row = self.env["prm.velocity.report"].search(
            [("team_id", "=", self.team.id), ("month", "=", date(2026, 3, 1))]
        )
        self.assertEqual((row.won, row.lost, row.open_opportunities), (1, 2, 2))
        self.assertAlmostEqual(row.win_rate, 100 / 3)
        self.assertEqual((row.avg_deal, row.cycle_days), (1000.0, 12.0))
        self.assertAlmostEqual(row.velocity, 2 * (1 / 3) * 1000 / 12, places=2)
        self.assertEqual(row.pipeline, 3000.0)  # leads 2 and 5
        april = self.env["prm.velocity.report"].search(
            [("team_id", "=", self.team.id), ("month", "=", date(2026, 4, 1))]
        )
        self.assertEqual((april.open_opportunities, april.won), (2, 0))
        self.assertFalse(april.velocity)  # no win: no velocity
        analysis = self._analysis()
        self.assertTrue(analysis.has_velocity)
        self.assertEqual((analysis.closed_won, analysis.closed_lost), (1, 2))
        self.assertAlmostEqual(analysis.velocity, 2 * (1 / 3) * 1000 / 12, places=2)

    def test_velocity_snapshot_refresh(self):
        """The report shows its figures as of the last refresh: a new win
        appears once a reader with access presses Refresh, as the live
        function computes it."""
        Report = self.env["prm.velocity.report"]
        Report._prm_refresh()
        march = [("team_id", "=", self.team.id), ("month", "=", date(2026, 3, 1))]
        self.assertEqual(Report.search(march).won, 1)
        with self._at(20):
            self.leads[1].action_set_won()
        self.assertEqual(Report.search(march).won, 1)  # not refreshed yet
        manager = new_test_user(
            self.env,
            login="f_velocity_manager",
            groups="sales_team.group_sale_manager",
        )
        action = Report.with_user(manager).action_prm_refresh()
        self.assertEqual(action["tag"], "soft_reload")
        row = Report.search(march)
        self.assertEqual((row.won, row.open_opportunities), (2, 1))
        self.assertTrue(row.refreshed_at)
        self.env.cr.execute(
            "SELECT won, open_opportunities, velocity FROM prm_velocity_rows(23) "
            "WHERE team_id = %s AND month = %s",
            [self.team.id, date(2026, 3, 1)],
        )
        self.assertEqual(
            self.env.cr.fetchone(), (row.won, row.open_opportunities, row.velocity)
        )
        with self.assertRaises(AccessError):
            Report.with_user(self.salesman).action_prm_refresh()

    def test_velocity_snapshot_recovers(self):
        """A refresh rebuilds a snapshot left empty or lost, and another
        transaction's refresh meanwhile skips (False) instead of waiting."""
        Report = self.env["prm.velocity.report"]
        march = [("team_id", "=", self.team.id), ("month", "=", date(2026, 3, 1))]
        self.env.cr.execute(
            "REFRESH MATERIALIZED VIEW prm_velocity_snapshot WITH NO DATA"
        )
        self.assertTrue(Report._prm_refresh())
        self.assertEqual(Report.search(march).won, 1)
        self.env.cr.execute("DROP MATERIALIZED VIEW prm_velocity_snapshot")
        self.assertTrue(Report._prm_refresh())
        self.assertEqual(Report.search(march).won, 1)
        # this transaction holds the refresh now: another one skips
        with self.registry.cursor() as other:
            elsewhere = api.Environment(other, SUPERUSER_ID, {})
            self.assertFalse(elsewhere["prm.velocity.report"]._prm_refresh())

    def test_velocity_snapshot_restorable(self):
        """The snapshot refreshes with an empty search path, as a restore of
        pg_dump's output (Odoo's own backups) refreshes it."""
        self.env.flush_all()
        self.env.cr.execute("SET LOCAL search_path = ''")
        self.env.cr.execute("REFRESH MATERIALIZED VIEW public.prm_velocity_snapshot")
        self.env.cr.execute(
            "SELECT sum(won) FROM public.prm_velocity_snapshot WHERE team_id = %s",
            [self.team.id],
        )
        self.assertEqual(self.env.cr.fetchone()[0], 1)
        self.env.cr.execute("RESET search_path")

    def test_what_if_both_kinds(self):
        """The simulator lifts the measured conversions (60 %, 66.7 %, 50 %)
        and matches the closed formula for both kinds of lift."""
        analysis = self._analysis()
        action = analysis.action_what_if()
        form = Form(self.env["prm.funnel.whatif"].browse(action["res_id"]))
        measured = 0.6 * (2 / 3) * 0.5
        self.assertAlmostEqual(form.measured, 100 * measured, 3)
        self.assertAlmostEqual(form.projected_low, 100 * measured * 1.03**3, 3)
        self.assertAlmostEqual(form.projected_high, 100 * measured * 1.05**3, 3)
        self.assertAlmostEqual(form.gain_high, 100 * (1.05**3 - 1), 1)
        self.assertAlmostEqual(form.wins_high, 5 * measured * 1.05**3, 1)
        self.assertAlmostEqual(form.revenue_high, 5 * measured * 1.05**3 * 1000, 0)
        form.lift_kind = "absolute"
        expected = math.prod([0.65, 2 / 3 + 0.05, 0.55])
        self.assertAlmostEqual(form.projected_high, 100 * expected, 3)
        self.assertEqual(form.lift_unit, "pts")
        self.assertIn("F Qualified", form.stages_html)

    def test_printable_report(self):
        """The funnel report prints the stage table, valued progression and
        velocity."""
        analysis = self._analysis()
        html, _type = self.env["ir.actions.report"]._render_qweb_html(
            "prm_funnel.report_prm_funnel", analysis.ids
        )
        html = html.decode()
        for text in ("F Proposition", "F Ads", "Velocity", "<span>60.0</span> %"):
            self.assertIn(text, html)
        # stages nobody in the cohort entered are not part of its funnel
        self.assertEqual(analysis.line_ids.stage_id, self.new + self.qual + self.prop)
        action = analysis.action_print()
        # without a document layout yet, Odoo asks for one first
        report = (
            action.get("report_name")
            or action["context"]["report_action"]["report_name"]
        )
        self.assertEqual(report, "prm_funnel.report_prm_funnel")

    def test_real_pdf(self):
        """With wkhtmltopdf on the machine, the funnel report is a real PDF."""
        if not shutil.which("wkhtmltopdf"):
            self.skipTest("wkhtmltopdf is not installed")
        analysis = self._analysis()
        # Debian's wkhtmltopdf (unpatched Qt) warns about header options
        with mute_logger("odoo.addons.base.models.ir_actions_report"):
            pdf, kind = (
                self.env["ir.actions.report"]
                .with_context(force_report_rendering=True)
                ._render_qweb_pdf("prm_funnel.report_prm_funnel", analysis.ids)
            )
        self.assertEqual(kind, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))

    def test_prm_user_without_sales_sees_no_lead_s(self):
        """A PRM user without Sales rights reads no stay, score entry or
        qualification move (they all belong to leads it cannot read)."""
        user = new_test_user(
            self.env, login="prm_only_funnel", groups="prm_tracking.group_prm_user"
        )
        self.env["prm.scoring.ruleset"].search([]).active = False
        ruleset = self.env["prm.scoring.ruleset"].create(
            {"name": "Any lead", "fit_weight": 100, "engagement_weight": 0}
        )
        self.env["prm.scoring.rule"].create(
            {"ruleset_id": ruleset.id, "name": "Any", "kind": "fit", "points": 50}
        )
        self.env["crm.lead"].browse(self.leads[0].id)._prm_rescore()
        for model in ("prm.stage.history", "prm.score.entry", "prm.funnel.report"):
            self.assertTrue(self.env[model].search_count([]), model)
            self.assertFalse(self.env[model].with_user(user).search_count([]), model)

    def test_salesman_sees_own_leads(self):
        """A salesperson's analysis and reports count only their own (and
        unassigned) leads; another company cannot be analysed."""
        one, two, *_rest = self.leads
        (self.env["crm.lead"].browse([lead.id for lead in self.leads]) - one).write(
            {"user_id": self.sales_manager.id}
        )
        one.user_id = self.salesman
        Analysis = self.env["prm.funnel.analysis"].with_user(self.salesman)
        analysis = Analysis.create(
            {
                "date_from": date(2026, 3, 1),
                "date_to": date(2026, 3, 31),
                "team_id": self.team.id,
            }
        )
        analysis.action_compute()
        self.assertEqual((analysis.leads, analysis.won), (1, 1))
        two.user_id = False  # unassigned leads count too, as crm's rule shows them
        analysis.action_compute()
        self.assertEqual(analysis.leads, 2)
        two.user_id = self.sales_manager
        visible = (
            self.env["prm.funnel.report"]
            .with_user(self.salesman)
            .search([("team_id", "=", self.team.id)])
        )
        self.assertEqual(visible.lead_id, one)
        with self.assertRaises(AccessError):
            self.env["prm.velocity.report"].with_user(self.salesman).search([])
        with self.assertRaises(AccessError):
            Analysis.create(
                {
                    "date_from": date(2026, 3, 1),
                    "date_to": date(2026, 3, 31),
                    "company_id": self.company_2.id,
                }
            ).action_compute()
