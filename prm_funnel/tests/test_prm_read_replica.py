# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged

# the models behind PRM's report menus, and the methods their views call
REPORT_MODELS = [
    "prm.funnel.report",
    "prm.value.report",
    "prm.source.report",
    "prm.velocity.report",
    "prm.qualification.report",
    "prm.stage.history",
    "prm.stage.win.rate",
    "prm.qualification.entry",
    "prm.score.entry",
    "prm.event",
    "prm.visitor",
]


def runs_on_replica(model, method):
    """Odoo's own decision for /web/dataset/call_kw and call_button: the
    first definition along the model's MRO marked read-only or not."""
    for cls in type(model).mro():
        function = getattr(cls, method, None)
        if function is not None and hasattr(function, "_readonly"):
            return function._readonly
    return False


@tagged("post_install", "-at_install", "prm_funnel")
class TestPrmReadReplica(TransactionCase):
    """With db_replica_host set, Odoo sends methods marked read-only to the
    replica, the others to the primary."""

    def test_event_buttons_read_on_replica(self):
        """The buttons opening a person's or a site's events run read-only."""
        for name, method in [
            ("crm.lead", "action_prm_view_events"),
            ("res.partner", "action_prm_view_events"),
            ("prm.tracking.site", "action_view_events"),
        ]:
            with self.subTest(model=name):
                self.assertTrue(runs_on_replica(self.env[name], method))

    def test_analyses_write_on_primary(self):
        """Analyses are saved documents: computing one stays on the primary."""
        for name in ("prm.funnel.analysis", "prm.source.quality"):
            with self.subTest(model=name):
                self.assertTrue(hasattr(self.env[name], "action_compute"))
                self.assertFalse(runs_on_replica(self.env[name], "action_compute"))


@tagged("post_install", "-at_install", "prm_funnel")
class TestPrmReportsReadOnly(HttpCase):
    """Odoo runs read-only requests in a READ ONLY transaction (in tests as
    on a replica) and retries them on the primary, with a warning, when they
    try to write."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        new_test_user(
            cls.env,
            login="prm_replica_manager",
            groups="sales_team.group_sale_manager",
            password="prm_replica_manager",
        )
        lead = cls.env["crm.lead"].create(
            {"name": "Replica lead", "type": "opportunity", "expected_revenue": 100}
        )
        lead.stage_id = cls.env["crm.stage"].search(
            [("is_won", "=", False)], order="sequence desc", limit=1
        )
        page_view = cls.env.ref("prm_tracking.prm_event_type_page_view")
        cls.env["prm.event"].create({"lead_id": lead.id, "event_type_id": page_view.id})

    def test_reports_read_without_writing(self):
        """A sales manager's pivot and list of every PRM report succeed in a
        read-only transaction: none is retried on the primary."""
        self.authenticate("prm_replica_manager", "prm_replica_manager")
        with self.assertNoLogs("odoo.http", level="WARNING"):
            for name in REPORT_MODELS:
                model = self.env[name]
                groupby = next(
                    f
                    for f in ("stage_id", "source_id", "team_id", "company_id")
                    if f in model._fields
                )
                for method, args, kwargs in [
                    ("read_group", [[], [], [groupby]], {"lazy": False}),
                    (
                        "web_search_read",
                        [[], {"display_name": {}}],
                        {"limit": 80, "count_limit": 10001},
                    ),
                ]:
                    result = self.make_jsonrpc_request(
                        f"/web/dataset/call_kw/{name}/{method}",
                        {"model": name, "method": method, "args": args,
                         "kwargs": kwargs},
                    )  # fmt: skip
                    self.assertIsNotNone(result, f"{name}.{method}")
