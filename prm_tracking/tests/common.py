# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import TransactionCase, new_test_user


class PrmCommon(TransactionCase):
    """Users, companies and a lead shared by the tests of every PRM addon."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        cls.company_2 = cls.env["res.company"].create({"name": "PRM Second Company"})
        cls.salesman = new_test_user(
            cls.env,
            login="prm_salesman",
            groups="sales_team.group_sale_salesman",
            company_id=cls.company.id,
            company_ids=[cls.company.id],
        )
        cls.sales_manager = new_test_user(
            cls.env,
            login="prm_sales_manager",
            groups="sales_team.group_sale_manager",
            company_id=cls.company.id,
            company_ids=[cls.company.id, cls.company_2.id],
        )
        cls.employee = new_test_user(
            cls.env, login="prm_employee", groups="base.group_user"
        )
        cls.lead = cls.env["crm.lead"].create(
            {
                "name": "PRM lead",
                "email_from": "prospect@example.com",
                "user_id": cls.salesman.id,
            }
        )
        cls.lead_2 = cls.env["crm.lead"].create(
            {"name": "PRM lead (company 2)", "company_id": cls.company_2.id}
        )
        cls.page_view = cls.env.ref("prm_tracking.prm_event_type_page_view")
