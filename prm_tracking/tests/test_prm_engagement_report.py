# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import doctest
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odoo import SUPERUSER_ID, api
from odoo.tests import new_test_user, tagged

from ..hooks import uninstall_hook
from ..tools import engagement_rollup as rollup
from .common import PrmCommon


@tagged("post_install", "-at_install", "prm_tracking")
class TestPrmEngagementReport(PrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Report = cls.env["prm.engagement.report"]
        cls.email_open = cls.env.ref("prm_tracking.prm_event_type_email_open")
        cls.other_salesman = new_test_user(
            cls.env,
            login="prm_engagement_other",
            groups="sales_team.group_sale_salesman",
            company_id=cls.company.id,
        )
        cls.other_lead = cls.env["crm.lead"].create(
            {"name": "Someone else's", "user_id": cls.other_salesman.id}
        )
        cls.partner = cls.env["res.partner"].create({"name": "Engagement partner"})
        # the counts as they stand before each test's own events
        cls.Report._prm_rebuild()

    def _events(self, lead=None, partner=None, count=1, kind=None, **values):
        kind = kind or self.page_view
        return self.env["prm.event"].create(
            [
                {
                    "event_type_id": kind.id,
                    "lead_id": lead.id if lead else False,
                    "partner_id": partner.id if partner else False,
                    "occurred_at": datetime(2026, 3, 1 + i % 3, 23, 30),
                    "origin": "import",
                    **values,
                }
                for i in range(count)
            ]
        )

    def _report_counts(self):
        """The report's rows (rollup and pending changes), summed per
        dimension, as the ORM reads them."""
        names = [name for name, _t, _e in rollup.DIMS]
        groups = self.Report.sudo()._read_group(
            [],
            groupby=["date:day" if name == "date" else name for name in names],
            aggregates=["events:sum"],
        )
        return {
            tuple(
                (value.id if hasattr(value, "_name") else value) or False
                for value in values
            ): count
            for *values, count in groups
            if count
        }

    def _live_counts(self):
        """The same counts, straight from the events."""
        self.env.flush_all()
        self.env.cr.execute(rollup.live_counts_sql())
        return {
            tuple(value or False for value in values): count
            for *values, count in self.env.cr.fetchall()
        }

    def _assert_exact(self):
        live = self._live_counts()
        self.assertEqual(self._report_counts(), live)
        return live

    def _total(self, user=None, domain=()):
        model = self.Report.with_user(user) if user else self.Report
        return sum(r.events for r in model.search(list(domain)))

    def test_counts_follow_every_change(self):
        """Inserts, event and lead changes, lead deletion and purges keep the
        report equal to counting the events, before and after a fold and a
        rebuild."""
        self._events(self.lead, count=5)
        self._events(partner=self.partner, count=2, kind=self.email_open)
        anonymous = self._events(count=3, is_bot=True)
        doomed = self.env["crm.lead"].create(
            {"name": "To delete", "user_id": self.other_salesman.id}
        )
        self._events(doomed, count=4)
        self._assert_exact()
        # stitched: the anonymous events join a lead; one is not a bot after all
        anonymous.write({"lead_id": self.other_lead.id})
        anonymous[0].is_bot = False
        self.lead.user_id = self.other_salesman
        self._assert_exact()
        doomed.unlink()
        self.env["prm.event"].search([("lead_id", "=", self.lead.id)])[:2].unlink()
        self.env.cr.execute(
            "UPDATE prm_event SET event_type_id = %s WHERE partner_id = %s",
            [self.page_view.id, self.partner.id],
        )
        self.env.invalidate_all()
        live = self._assert_exact()
        self.assertTrue(self.Report._prm_fold())
        self.env.cr.execute(f"SELECT count(*) FROM {rollup.DELTA}")
        self.assertEqual(self.env.cr.fetchone()[0], 0, "the fold empties the changes")
        self.assertEqual(self._assert_exact(), live)
        self.assertTrue(self.Report._prm_rebuild())
        self.assertEqual(self._assert_exact(), live)

    def test_fold_removes_emptied_rows(self):
        """The list shows a combination once with its pending changes, and a
        day whose events are all deleted leaves no row, before the fold or
        after it."""
        events = self._events(self.lead, count=3, occurred_at=datetime(2020, 1, 1))
        self.Report._prm_fold()
        domain = [("date", "=", "2020-01-01")]
        self.assertEqual(self._total(domain=domain), 3)
        events[0].unlink()
        # one row per combination, its pending change included: no row of -1
        self.assertEqual(self.Report.search(domain).mapped("events"), [2])
        events.exists().unlink()
        self.assertEqual(self._total(domain=domain), 0, "exact before the fold")
        self.Report._prm_fold()
        self.assertFalse(self.Report.search(domain))

    def test_rebuild_mends_counts_the_triggers_missed(self):
        """Events loaded with the triggers off are counted by the rebuild."""
        self.env.flush_all()
        self.env.cr.execute(
            "ALTER TABLE prm_event DISABLE TRIGGER prm_engagement_event_insert"
        )
        self.env.cr.execute(
            "INSERT INTO prm_event (event_type_id, channel, occurred_at, origin, "
            "is_bot, company_id) SELECT %s, 'web', '2021-05-05', 'import', false, %s "
            "FROM generate_series(1, 7)",
            [self.page_view.id, self.company.id],
        )
        self.env.cr.execute(
            "ALTER TABLE prm_event ENABLE TRIGGER prm_engagement_event_insert"
        )
        domain = [("date", "=", "2021-05-05")]
        self.assertEqual(self._total(domain=domain), 0)
        self.Report._prm_rebuild()
        self.assertEqual(self._total(domain=domain), 7)
        self._assert_exact()

    def test_rebuild_met_by_a_fold_comes_back_soon(self):
        """A daily count that meets a fold running skips without failing and
        asks its job to run again a minute later."""
        self.assertTrue(self.Report._prm_fold())  # holds the lock until the end
        with self.registry.cursor() as other:
            elsewhere = api.Environment(other, SUPERUSER_ID, {})
            cron = elsewhere.ref("prm_tracking.ir_cron_prm_engagement_rebuild")
            self.assertFalse(elsewhere["prm.engagement.report"]._prm_rebuild())
            self.assertTrue(
                elsewhere["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
            )
            other.rollback()

    def test_salesperson_sees_what_the_event_rules_allow(self):
        """A salesperson counts the events of their own and unassigned leads and
        those on no lead, never another's lead's; a PRM user without Sales
        counts only events on no lead; the counts follow a reassignment."""
        self._events(self.lead, count=2)  # the salesman's
        self._events(self.other_lead, count=3)  # someone else's
        unassigned = self.env["crm.lead"].create({"name": "Nobody's", "user_id": False})
        self._events(unassigned, count=4)
        self._events(partner=self.partner, count=5)
        domain = [("date", ">=", "2026-03-01"), ("date", "<=", "2026-03-03")]
        events = self.env["prm.event"].with_user(self.salesman)
        self.assertEqual(
            self._total(self.salesman, domain),
            events.search_count(
                [
                    ("occurred_at", ">=", "2026-03-01"),
                    ("occurred_at", "<", "2026-03-04"),
                ]
            ),
        )
        self.assertEqual(self._total(self.salesman, domain), 2 + 4 + 5)
        self.assertEqual(self._total(self.sales_manager, domain), 2 + 3 + 4 + 5)
        prm_user = new_test_user(
            self.env,
            login="prm_engagement_prm_only",
            groups="prm_tracking.group_prm_user",
        )
        self.assertEqual(self._total(prm_user, domain), 5)
        self.other_lead.user_id = self.salesman
        self.assertEqual(self._total(self.salesman, domain), 2 + 3 + 4 + 5)
        self.assertEqual(self._total(self.other_salesman, domain), 4 + 5)
        # an unassigned lead of another company: the company rule hides it
        # from the salesperson, not from a manager of both companies
        self._events(self.lead_2, count=6, company_id=self.company_2.id)
        self.assertEqual(self._total(self.salesman, domain), 2 + 3 + 4 + 5)
        self.assertEqual(self._total(self.sales_manager, domain), 2 + 3 + 4 + 5 + 6)

    def test_site_and_type_counts_read_the_report(self):
        """A site's and an event type's event counts (their forms) are the
        report's: every event of theirs, bots included."""
        site = self.env["prm.tracking.site"].create({"name": "Counted site"})
        kind = self.env["prm.event.type"].create(
            {"name": "Counted", "code": "counted", "channel": "web"}
        )
        self._events(self.lead, count=3, kind=kind)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE prm_event SET site_id = %s WHERE event_type_id = %s",
            [site.id, kind.id],
        )
        self._events(count=2, kind=kind, is_bot=True)
        self.env.invalidate_all()
        self.assertEqual(site.event_count, 3)
        self.assertEqual(kind.event_count, 5)

    def test_pivot_reads_per_type_and_month(self):
        """The pivot's own read (event type x month, the events measure) counts
        each event once, bots left out by the menu's default filter."""
        self._events(self.lead, count=3)
        self._events(self.lead, count=2, kind=self.email_open)
        self._events(self.lead, count=4, is_bot=True)
        groups = self.Report.read_group(
            [
                ("is_bot", "=", False),
                ("date", ">=", "2026-03-01"),
                ("date", "<", "2026-04-01"),
            ],
            ["events:sum"],
            ["event_type_id", "date:month"],
            lazy=False,
        )
        counts = {g["event_type_id"][0]: g["events"] for g in groups}
        self.assertEqual(counts, {self.page_view.id: 3, self.email_open.id: 2})

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        st.lists(
            st.tuples(
                st.sampled_from(
                    ["insert", "update", "delete", "owner", "unlink_lead", "fold"]
                ),
                st.integers(0, 1000),
            ),
            max_size=12,
        )
    )
    def test_random_changes_stay_exact(self, steps):
        """Any sequence of inserts, event changes and deletions, owner changes,
        lead deletions and folds leaves the report equal to counting the
        events."""
        with self.rolled_back():
            users = [self.salesman, self.other_salesman, self.env["res.users"]]
            leads = self.env["crm.lead"].create(
                [{"name": f"Random {i}", "user_id": users[i % 3].id} for i in range(3)]
            )
            kinds = [self.page_view, self.email_open]
            for step, n in steps:
                events = self.env["prm.event"].search([], order="id")
                if step == "insert":
                    lead = leads.exists()[n % 4 :][:1] if leads.exists() else None
                    self._events(
                        lead or None,
                        count=1 + n % 3,
                        kind=kinds[n % 2],
                        is_bot=bool(n % 5 == 0),
                        occurred_at=datetime(2025, 1 + n % 12, 1 + n % 28, n % 24),
                    )
                elif step == "update" and events:
                    lead = leads.exists()[n % 4 :][:1]
                    events[n % len(events) :][: 1 + n % 3].write(
                        {
                            "lead_id": lead.id,
                            "is_bot": bool(n % 2),
                            "event_type_id": kinds[n % 2].id,
                        }
                    )
                elif step == "delete" and events:
                    events[n % len(events) :][: 1 + n % 2].unlink()
                elif step == "owner" and leads.exists():
                    lead = leads.exists()[n % len(leads.exists())]
                    lead.user_id = users[n % 3]
                elif step == "unlink_lead" and leads.exists():
                    leads.exists()[n % len(leads.exists())].unlink()
                elif step == "fold":
                    self.Report._prm_fold()
            self._assert_exact()

    def test_formula_examples(self):
        """The module's examples (the SQL of a dimension list and of the lead
        lookup) hold."""
        result = doctest.testmod(rollup)
        self.assertEqual((result.failed, result.attempted > 0), (0, True))

    def test_sweep_of_many_events_matches_rows_by_hashing(self):
        """Moving thousands of anonymous events onto their person in one
        statement keeps the counts exact; the trigger's function leaves hash
        joins on, so it matches old and new rows by hashing instead of
        comparing every pair (21 s for 21,666 events before)."""
        anonymous = self._events(count=3000)
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT proconfig FROM pg_proc "
            "WHERE proname = 'prm_engagement_event_changed'"
        )
        self.assertNotIn("enable_hashjoin=off", str(self.env.cr.fetchone()[0]))
        self.env.cr.execute(
            "UPDATE prm_event SET lead_id = %s WHERE id = ANY(%s)",
            [self.lead.id, anonymous.ids],
        )
        self.env["prm.event"].invalidate_model()
        live = self._assert_exact()
        self.assertEqual(sum(live.values()), 3000)

    def test_uninstall_drops_triggers_and_tables(self):
        """The uninstall hook leaves no trigger on crm_lead or prm_event, and
        no table behind."""
        with self.rolled_back():
            uninstall_hook(self.env)
            self.env.cr.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'prm_engagement%%'"
            )
            self.assertEqual(self.env.cr.fetchone()[0], 0)
            self.env.cr.execute("SELECT to_regclass(%s)", [rollup.ROLLUP])
            self.assertIsNone(self.env.cr.fetchone()[0])
