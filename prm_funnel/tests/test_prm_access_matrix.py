# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""One access matrix for every PRM model: who may read, write, create and
delete (r w c u, "-" for no), per role, asserted from this table alone.
Record rules (own leads, own analyses, companies) have their own tests; the
row "one company" below checks the multi-company rules of company-bound
models."""

from odoo.tests import TransactionCase, new_test_user, tagged

OPERATIONS = ("read", "write", "create", "unlink")
# model: {role: "rwcu"}; every stored PRM model must have a row
MATRIX = {
    "prm.acquisition.cost": dict(
        public="----",
        portal="----",
        prm_user="----",
        salesman="----",
        sales_manager="rwcu",
        prm_manager="rwcu",
        cost_reader="r---",
    ),
    "prm.cost.incidence": dict(
        public="----",
        portal="----",
        prm_user="----",
        salesman="----",
        sales_manager="rwcu",
        prm_manager="rwcu",
        cost_reader="rwcu",
    ),
    "prm.engagement.report": dict(
        public="----",
        portal="----",
        prm_user="r---",
        salesman="r---",
        sales_manager="r---",
        prm_manager="r---",
        cost_reader="r---",
    ),
    "prm.event": dict(
        public="----",
        portal="----",
        prm_user="r-c-",
        salesman="r-c-",
        sales_manager="rwcu",
        prm_manager="rwcu",
        cost_reader="r-c-",
    ),
    "prm.event.type": dict(
        public="----",
        portal="----",
        prm_user="r---",
        salesman="r---",
        sales_manager="rwcu",
        prm_manager="rwcu",
        cost_reader="r---",
    ),
    "prm.funnel.analysis": dict(
        public="----",
        portal="----",
        prm_user="rwcu",
        salesman="rwcu",
        sales_manager="rwcu",
        prm_manager="rwcu",
        cost_reader="rwcu",
    ),
    "prm.funnel.analysis.line": dict(
        public="----",
        portal="----",
        prm_user="rwcu",
        salesman="rwcu",
        sales_manager="rwcu",
        prm_manager="rwcu",
        cost_reader="rwcu",
    ),
    "prm.funnel.report": dict(
        public="----",
        portal="----",
        prm_user="r---",
        salesman="r---",
        sales_manager="r---",
        prm_manager="r---",
        cost_reader="r---",
    ),
    "prm.funnel.value.line": dict(
        public="----",
        portal="----",
        prm_user="rwcu",
        salesman="rwcu",
        sales_manager="rwcu",
        prm_manager="rwcu",
        cost_reader="rwcu",
    ),
    "prm.funnel.whatif": dict(
        public="----",
        portal="----",
        prm_user="rwcu",
        salesman="rwcu",
        sales_manager="rwcu",
        prm_manager="rwcu",
        cost_reader="rwcu",
    ),
    "prm.interest": dict(
        public="----",
        portal="----",
        prm_user="r---",
        salesman="r---",
        sales_manager="rwcu",
        prm_manager="rwcu",
        cost_reader="r---",
    ),
    "prm.person.queue": dict(
        public="----",
        portal="----",
        prm_user="----",
        salesman="----",
        sales_manager="rw-u",
        prm_manager="rw-u",
        cost_reader="----",
    ),
    "prm.pixel.hit": dict(
        public="----",
        portal="----",
        prm_user="----",
        salesman="----",
        sales_manager="rw-u",
        prm_manager="rw-u",
        cost_reader="----",
    ),
    "prm.propensity.model": dict(
        public="----",
        portal="----",
        prm_user="r---",
        salesman="r---",
        sales_manager="rwcu",
        prm_manager="rwcu",
        cost_reader="r---",
    ),
    "prm.qualification.entry": dict(
        public="----",
        portal="----",
        prm_user="r---",
        salesman="r---",
        sales_manager="r---",
        prm_manager="r---",
        cost_reader="r---",
    ),
    "prm.qualification.preview": dict(
        public="----",
        portal="----",
        prm_user="----",
        salesman="----",
        sales_manager="rwcu",
        prm_manager="rwcu",
        cost_reader="----",
    ),
    "prm.qualification.preview.line": dict(
        public="----",
        portal="----",
        prm_user="----",
        salesman="----",
        sales_manager="rwcu",
        prm_manager="rwcu",
        cost_reader="----",
    ),
    "prm.qualification.reject": dict(
        public="----",
        portal="----",
        prm_user="rwc-",
        salesman="rwc-",
        sales_manager="rwc-",
        prm_manager="rwc-",
        cost_reader="rwc-",
    ),
    "prm.qualification.report": dict(
        public="----",
        portal="----",
        prm_user="r---",
        salesman="r---",
        sales_manager="r---",
        prm_manager="r---",
        cost_reader="r---",
    ),
    "prm.qualification.rule": dict(
        public="----",
        portal="----",
        prm_user="r---",
        salesman="r---",
        sales_manager="rwcu",
        prm_manager="rwcu",
        cost_reader="r---",
    ),
    "prm.score.entry": dict(
        public="----",
        portal="----",
        prm_user="r---",
        salesman="r---",
        sales_manager="r---",
        prm_manager="r---",
        cost_reader="r---",
    ),
    "prm.scoring.rule": dict(
        public="----",
        portal="----",
        prm_user="r---",
        salesman="r---",
        sales_manager="rwcu",
        prm_manager="rwcu",
        cost_reader="r---",
    ),
    "prm.scoring.ruleset": dict(
        public="----",
        portal="----",
        prm_user="r---",
        salesman="r---",
        sales_manager="rwcu",
        prm_manager="rwcu",
        cost_reader="r---",
    ),
    "prm.source.quality": dict(
        public="----",
        portal="----",
        prm_user="rwcu",
        salesman="rwcu",
        sales_manager="rwcu",
        prm_manager="rwcu",
        cost_reader="rwcu",
    ),
    "prm.source.quality.line": dict(
        public="----",
        portal="----",
        prm_user="rwcu",
        salesman="rwcu",
        sales_manager="rwcu",
        prm_manager="rwcu",
        cost_reader="rwcu",
    ),
    "prm.source.report": dict(
        public="----",
        portal="----",
        prm_user="r---",
        salesman="r---",
        sales_manager="r---",
        prm_manager="r---",
        cost_reader="r---",
    ),
    "prm.stage.history": dict(
        public="----",
        portal="----",
        prm_user="r---",
        salesman="r---",
        sales_manager="r---",
        prm_manager="r---",
        cost_reader="r---",
    ),
    "prm.stage.win.rate": dict(
        public="----",
        portal="----",
        prm_user="r---",
        salesman="r---",
        sales_manager="rwcu",
        prm_manager="rwcu",
        cost_reader="r---",
    ),
    "prm.tracking.site": dict(
        public="----",
        portal="----",
        prm_user="----",
        salesman="----",
        sales_manager="rwcu",
        prm_manager="rwcu",
        cost_reader="----",
    ),
    "prm.value.report": dict(
        public="----",
        portal="----",
        prm_user="r---",
        salesman="r---",
        sales_manager="r---",
        prm_manager="r---",
        cost_reader="r---",
    ),
    "prm.velocity.report": dict(
        public="----",
        portal="----",
        prm_user="----",
        salesman="----",
        sales_manager="r---",
        prm_manager="r---",
        cost_reader="----",
    ),
    "prm.visitor": dict(
        public="----",
        portal="----",
        prm_user="r---",
        salesman="r---",
        sales_manager="rwcu",
        prm_manager="rwcu",
        cost_reader="r---",
    ),
}
# company-bound models: a record of one company is invisible to a user of
# another one (a sales manager limited to it)
COMPANY_BOUND = (
    "prm.acquisition.cost",
    "prm.event",
    "prm.person.queue",
    "prm.pixel.hit",
    "prm.qualification.rule",
    "prm.scoring.ruleset",
    "prm.tracking.site",
    "prm.visitor",
)


@tagged("post_install", "-at_install", "prm_funnel")
class TestPrmAccessMatrix(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_2 = cls.env["res.company"].create({"name": "Matrix Two"})

        def user(login, groups, **values):
            return new_test_user(cls.env, login=login, groups=groups, **values)

        cls.roles = {
            "public": cls.env.ref("base.public_user"),
            "portal": user("matrix_portal", "base.group_portal"),
            "prm_user": user(
                "matrix_prm", "base.group_user,prm_tracking.group_prm_user"
            ),
            "salesman": user("matrix_sales", "sales_team.group_sale_salesman"),
            "sales_manager": user("matrix_sm", "sales_team.group_sale_manager"),
            "prm_manager": user(
                "matrix_pm", "base.group_user,prm_tracking.group_prm_manager"
            ),
            "cost_reader": user(
                "matrix_cost",
                "sales_team.group_sale_salesman,prm_funnel.group_prm_costs",
            ),
        }
        cls.one_company = user(
            "matrix_one",
            "sales_team.group_sale_manager",
            company_id=cls.company_2.id,
            company_ids=[cls.company_2.id],
        )

    def test_every_model_has_a_row(self):
        """A new PRM model cannot slip in without its row in the matrix."""
        models = {
            name
            for name in self.env.registry
            if name.startswith("prm.") and not self.env[name]._abstract
        }
        self.assertEqual(models - set(MATRIX), set(), "models without a row")
        self.assertEqual(set(MATRIX) - models, set(), "rows of no model")

    def test_matrix(self):
        """Each role has exactly the rights its row says on every PRM model."""
        for model, rights in MATRIX.items():
            self.assertEqual(set(rights), set(self.roles), model)
            for role, expected in rights.items():
                Model = self.env[model].with_user(self.roles[role])
                actual = "".join(
                    op[0] if Model.has_access(op) else "-" for op in OPERATIONS
                )
                self.assertEqual(actual, expected, f"{model} / {role}")

    def test_one_company(self):
        """A user limited to one company sees no record of another one."""
        site = self.env["prm.tracking.site"].create({"name": "Matrix site"})
        page_view = self.env.ref("prm_tracking.prm_event_type_page_view")
        records = {
            "prm.tracking.site": site,
            "prm.event": self.env["prm.event"].create({"event_type_id": page_view.id}),
            "prm.visitor": self.env["prm.visitor"].create(
                {"token": "matrix", "site_id": site.id}
            ),
            "prm.scoring.ruleset": self.env["prm.scoring.ruleset"].create(
                {"name": "Matrix", "active": False}
            ),
            "prm.qualification.rule": self.env["prm.qualification.rule"].create(
                {"name": "Matrix", "state": "nurturing", "active": False}
            ),
            "prm.acquisition.cost": self.env["prm.acquisition.cost"].create(
                {
                    "name": "Matrix",
                    "amount": 1.0,
                    "date_from": "2026-01-01",
                    "date_to": "2026-01-31",
                }
            ),
        }
        self.env["prm.pixel.hit"]._enqueue(
            site.id, site.company_id.id, {"id": "m"}, "GET", None, "2026-01-01"
        )
        records["prm.pixel.hit"] = self.env["prm.pixel.hit"].search(
            [("site_id", "=", site.id)]
        )
        self.env["prm.person.queue"]._enqueue_persons(
            lead_ids=self.env["crm.lead"].create({"name": "Matrix"}).ids
        )
        records["prm.person.queue"] = self.env["prm.person.queue"].search([])[-1:]
        self.assertEqual(set(records), set(COMPANY_BOUND))
        for model, record in records.items():
            self.assertTrue(record, model)
            self.assertEqual(record.company_id, self.env.company, model)
            self.assertFalse(
                self.env[model]
                .with_user(self.one_company)
                .search_count([("id", "in", record.ids)]),
                model,
            )
