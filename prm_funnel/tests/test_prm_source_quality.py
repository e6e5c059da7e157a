# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import statistics
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import SQL

from odoo.addons.prm_tracking.tests.common import PrmCommon

T0 = datetime(2026, 3, 10, 9, 0, 0)
MARCH = {"date_from": date(2026, 3, 1), "date_to": date(2026, 3, 31)}


@tagged("post_install", "-at_install", "prm_funnel")
class TestPrmSourceQuality(PrmCommon):
    """Three sources in March 2026, every won lead worth 1,000:

    * Ads: 20 leads, 3 won (15 %, the issue's first check value)
    * Fair: 200 leads, 30 won (15 %, the second check value)
    * Web: 100 leads, 30 won (30 %)

    Costs: Ads 3,100 in March; Fair 6,200 over March and April (61 days).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Source = cls.env["utm.source"]
        cls.ads = Source.create({"name": "Q Ads"})
        cls.fair = Source.create({"name": "Q Fair"})
        cls.web = Source.create({"name": "Q Web"})
        cls.won_stage = cls.env["crm.stage"].search([("is_won", "=", True)], limit=1)
        with cls._at(T0):
            cls.leads = {}
            plan = ((cls.ads, 20, 3), (cls.fair, 200, 30), (cls.web, 100, 30))
            for source, count, won in plan:
                leads = cls.env["crm.lead"].create(
                    [
                        {"name": f"{source.name} {i}", "source_id": source.id,
                         "expected_revenue": 1000.0, "type": "opportunity"}
                        for i in range(count)
                    ]
                )  # fmt: skip
                cls.leads[source] = leads
                cls.env.flush_all()
                cls.env.cr.execute(
                    SQL(
                        "UPDATE crm_lead SET probability = 100, stage_id = %s, "
                        "date_closed = %s WHERE id = ANY(%s)",
                        cls.won_stage.id,
                        T0 + timedelta(days=10),
                        leads[:won].ids,
                    )
                )
        cls.env["crm.lead"].invalidate_model()
        Cost = cls.env["prm.acquisition.cost"]
        Cost.create(
            [
                {"name": "Ads March", "amount": 3100, "source_id": cls.ads.id,
                 "date_from": date(2026, 3, 1), "date_to": date(2026, 3, 31)},
                {"name": "Fair stand", "amount": 6200, "source_id": cls.fair.id,
                 "date_from": date(2026, 3, 1), "date_to": date(2026, 4, 30)},
                {"name": "Sales team", "amount": 700, "kind": "sales",
                 "date_from": date(2026, 6, 1), "date_to": date(2026, 6, 30)},
            ]
        )  # fmt: skip

    @classmethod
    @contextmanager
    def _at(cls, moment):
        with freeze_time(moment), patch.object(cls.env.cr, "now", lambda: moment):
            yield

    def _analysis(self, user=None, **vals):
        Analysis = self.env["prm.source.quality"]
        if user:
            Analysis = Analysis.with_user(user)
        analysis = Analysis.create(dict(MARCH, **vals))
        analysis.action_compute()
        return {line.name: line for line in analysis.line_ids}, analysis

    def test_wilson_check_values_and_verdicts(self):
        """3/20 -> 15 % [5.2 %, 36.0 %] and 30/200 -> 15 % [10.7 %, 20.6 %];
        each source against the rest: Web better, Fair worse, Ads too small."""
        lines, analysis = self._analysis()
        ads, fair, web = lines["Q Ads"], lines["Q Fair"], lines["Q Web"]
        self.assertEqual((ads.leads, ads.won, ads.conversion), (20, 3, 15.0))
        self.assertEqual(
            (round(ads.conversion_low, 1), round(ads.conversion_high, 1)), (5.2, 36.0)
        )
        self.assertEqual(
            (round(fair.conversion_low, 1), round(fair.conversion_high, 1)),
            (10.7, 20.6),
        )
        self.assertEqual(
            (ads.verdict, fair.verdict, web.verdict),
            ("not_enough_data", "worse", "better"),
        )
        self.assertFalse(ads.enough_data)
        self.assertEqual((analysis.leads, analysis.won), (320, 63))
        # won leads count as qualified; 10 days from creation to win
        self.assertEqual((web.qualified_pct, web.days_to_win), (30.0, 10.0))
        self.assertEqual((web.won_revenue, web.avg_deal), (30000.0, 1000.0))

    def test_medians_exact_per_group(self):
        """The days to qualify and to win are each group's exact medians
        (even counts halfway, not means)."""
        web = self.leads[self.web]
        won, qualified = web[:30], web[30:34]
        for i, lead in enumerate(won, start=1):
            lead.date_closed = T0 + timedelta(days=i * i / 10)
        for days, lead in zip((2, 3, 5, 7), qualified, strict=True):
            self.env.cr.execute(
                "UPDATE crm_lead SET prm_qualified_on = %s WHERE id = %s",
                [T0 + timedelta(days=days), lead.id],
            )
        self.env.flush_all()
        lines, _analysis = self._analysis()
        days_to_win = [i * i / 10 for i in range(1, 31)]  # mean 31.5, median 24.05
        self.assertAlmostEqual(
            lines["Q Web"].days_to_win, statistics.median(days_to_win), 6
        )
        self.assertAlmostEqual(
            lines["Q Web"].days_to_qualify,
            statistics.median(days_to_win + [2, 3, 5, 7]),
            6,
        )
        self.assertEqual(
            (lines["Q Fair"].days_to_win, lines["Q Fair"].days_to_qualify),
            (10.0, 10.0),
        )
        self.assertEqual((lines["Q Fair"].leads, lines["Q Web"].leads), (200, 100))

    def test_costs_cac_roi_payback_ranked(self):
        """Costs are prorated to the period; cost per lead, per qualified lead,
        CAC, ROI and payback follow; lines are ranked by ROI, no-cost last."""
        lines, analysis = self._analysis()
        ads, fair, web = lines["Q Ads"], lines["Q Fair"], lines["Q Web"]
        self.assertEqual(ads.cost, 3100.0)
        self.assertAlmostEqual(fair.cost, 6200 * 31 / 61, 2)  # March part
        self.assertAlmostEqual(ads.cost_per_lead, 155.0)
        self.assertAlmostEqual(ads.cac, 3100 / 3, 2)
        self.assertAlmostEqual(ads.roi, 100 * (3000 - 3100) / 3100, 4)
        months = 31 / 30.4375
        self.assertAlmostEqual(ads.payback_months, 3100 / (3000 / months), 4)
        self.assertAlmostEqual(fair.cac, fair.cost / 30, 2)
        self.assertEqual([fair.rank, ads.rank, web.rank], [1, 2, 3])
        self.assertFalse(web.has_cost)  # no cost: n/a, not 0
        self.assertTrue(analysis.show_costs)
        self.assertAlmostEqual(analysis.cost, 3100 + 6200 * 31 / 61, 2)

    def test_charts(self):
        """The conversion chart shows each source with enough data, its rate
        inside its 95% interval; the cost chart each source's CAC."""
        lines, analysis = self._analysis()
        chart = analysis.conversion_chart
        names = chart["data"]["labels"]
        self.assertEqual(set(names), {"Q Fair", "Q Web"})  # Ads: too few leads
        rates, intervals = (d["data"] for d in chart["data"]["datasets"])
        for name, rate, (low, high) in zip(names, rates, intervals, strict=True):
            line = lines[name]
            self.assertAlmostEqual(rate, line.conversion / 100)
            self.assertEqual(
                (low, high), (line.conversion_low / 100, line.conversion_high / 100)
            )
        cac = analysis.cac_chart["data"]
        self.assertEqual(cac["labels"], ["Q Fair", "Q Ads"])
        self.assertEqual(
            cac["datasets"][0]["data"], [lines["Q Fair"].cac, lines["Q Ads"].cac]
        )

    def test_empty_period_is_na(self):
        """April has costs but no lead: the ratios are n/a, never a division
        by zero."""
        lines, analysis = self._analysis(
            date_from=date(2026, 4, 1), date_to=date(2026, 4, 30)
        )
        self.assertEqual(list(lines), ["Q Fair"])
        fair = lines["Q Fair"]
        self.assertEqual((fair.leads, fair.conversion), (0, 0.0))
        self.assertFalse(fair.has_leads or fair.has_cac or fair.has_payback)
        self.assertEqual(fair.verdict, "not_enough_data")
        self.assertFalse(analysis.has_cac)

    def test_cost_currency_conversion(self):
        """A cost in another currency counts in the company currency, at the
        rate of its first day."""
        eur = self.env.ref("base.EUR")
        eur.active = True
        self.env["res.currency.rate"].create(
            {"currency_id": eur.id, "name": date(2026, 1, 1), "rate": 2.0,
             "company_id": self.company.id}
        )  # fmt: skip
        cost = self.env["prm.acquisition.cost"].create(
            {"name": "EUR ads", "amount": 1000, "currency_id": eur.id,
             "source_id": self.web.id, **MARCH}
        )  # fmt: skip
        if self.company.currency_id == eur:
            self.skipTest("the test company already uses EUR")
        self.assertAlmostEqual(cost.amount_company, 500.0, 2)
        lines, _analysis = self._analysis()
        self.assertAlmostEqual(lines["Q Web"].cost, 500.0, 2)

    def test_incidence(self):
        """2026: 63,000 won, 2025: 13,000 -> new revenue 50,000; costs of
        2026: 3,100 + 6,200 + 700 = 10,000 -> 20 %, within the usual band."""
        with self._at(datetime(2025, 5, 1)):
            old = self.env["crm.lead"].create(
                {"name": "2025 deal", "expected_revenue": 13000.0}
            )
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE crm_lead SET probability = 100, date_closed = %s WHERE id = %s",
                datetime(2025, 6, 1),
                old.id,
            )
        )
        form = Form(self.env["prm.cost.incidence"])
        form.revenue_basis = "won"  # the Invoicing bridge defaults to invoices
        form.year = 2026
        self.assertEqual((form.revenue, form.previous_revenue), (63000.0, 13000.0))
        self.assertEqual(form.new_revenue, 50000.0)
        self.assertEqual((form.marketing_cost, form.sales_cost), (9300.0, 700.0))
        self.assertAlmostEqual(form.incidence, 20.0)
        self.assertEqual(form.band, "within")
        form.year = 2027  # nothing won: no new revenue, incidence n/a
        self.assertFalse(form.has_incidence)
        self.assertFalse(form.band)

    def test_pivot_and_referrer(self):
        """The pivot's rates per source, and the referrer of a lead's first
        event as a dimension."""
        rows = {
            source: values
            for source, *values in self.env["prm.source.report"]._read_group(
                [("source_id", "in", (self.ads + self.fair + self.web).ids)],
                ["source_id"],
                ["leads:sum", "won:sum", "won_rate:avg", "won_revenue:sum"],
            )
        }
        self.assertEqual(rows[self.ads], [20, 3, 15.0, 3000.0])
        self.assertEqual(rows[self.web], [100, 30, 30.0, 30000.0])
        lead = self.leads[self.web][0]
        self.env["prm.event"].create(
            [
                {"event_type_id": self.page_view.id, "lead_id": lead.id,
                 "occurred_at": T0, "referrer": "https://www.Google.com/search?q=x"},
                {"event_type_id": self.page_view.id, "lead_id": lead.id,
                 "occurred_at": T0 + timedelta(days=1), "referrer": "https://bing.com/"},
            ]
        )  # fmt: skip
        lines, _analysis = self._analysis(dimension="referrer_domain")
        self.assertEqual(lines["google.com"].leads, 1)
        self.assertEqual(lines["google.com"].won, 1)
        self.assertEqual(lines["(none)"].leads, 319)

    def test_cost_access(self):
        """Costs: sales managers and granted users see them, plain
        salespeople neither the costs nor the incidence; a salesperson's
        analysis counts their own leads only."""
        granted = new_test_user(
            self.env,
            login="prm_costs_reader",
            groups="sales_team.group_sale_salesman_all_leads,prm_funnel.group_prm_costs",
        )
        _lines, analysis = self._analysis(user=granted)
        self.assertTrue(analysis.show_costs)
        _lines, analysis = self._analysis(user=self.sales_manager)
        self.assertTrue(analysis.show_costs)
        self.leads[self.web][:5].write({"user_id": self.salesman.id})
        self.env["crm.lead"].search(
            [("source_id", "in", (self.ads + self.fair).ids)]
        ).write({"user_id": self.sales_manager.id})
        (self.leads[self.web][5:]).write({"user_id": self.sales_manager.id})
        lines, analysis = self._analysis(user=self.salesman)
        self.assertFalse(analysis.show_costs)
        self.assertEqual(analysis.leads, 5)
        self.assertEqual(list(lines), ["Q Web"])
        with self.assertRaises(AccessError):
            self.env["prm.cost.incidence"].with_user(self.salesman).create({})
        with self.assertRaises(AccessError):
            self.env["prm.acquisition.cost"].with_user(self.salesman).search([])
        self.assertTrue(
            self.env["prm.acquisition.cost"].with_user(granted).search_count([])
        )

    def test_analyses_private_to_their_creator(self):
        """Another user (a salesperson, another manager) neither finds nor
        reads a manager's analysis, its lines or its PDF."""
        lines, analysis = self._analysis(user=self.sales_manager)
        other_manager = new_test_user(
            self.env,
            login="prm_other_manager",
            groups="sales_team.group_sale_manager",
        )
        incidence = (
            self.env["prm.cost.incidence"].with_user(self.sales_manager).create({})
        )
        for user in (self.salesman, other_manager):
            for record in (analysis, next(iter(lines.values()))):
                self.assertFalse(
                    record.with_user(user).search_count([("id", "=", record.id)])
                )
                with self.assertRaises(AccessError):
                    record.with_user(user).read(["create_uid"])
            with self.assertRaises(Exception) as caught:  # QWeb wraps it
                self.env["ir.actions.report"].with_user(user)._render_qweb_html(
                    "prm_funnel.report_prm_source_quality", analysis.ids
                )
            self.assertIsInstance(
                caught.exception.__cause__ or caught.exception, AccessError
            )
        self.assertFalse(
            incidence.with_user(other_manager).search_count([("id", "=", incidence.id)])
        )
        self.assertEqual(analysis.with_user(self.sales_manager).leads, analysis.leads)

    def test_printable_report(self):
        """The source quality report prints the ranked lines with intervals."""
        _lines, analysis = self._analysis()
        html, _kind = self.env["ir.actions.report"]._render_qweb_html(
            "prm_funnel.report_prm_source_quality", analysis.ids
        )
        html = html.decode()
        for text in ("Q Fair", "Not enough data", "15.0 % (5.2 – 36.0)", "CAC"):
            self.assertIn(text, html)
