# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from contextlib import contextmanager
from datetime import timedelta

from odoo import fields
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

    @contextmanager
    def rolled_back(self):
        """Run the block in a savepoint rolled back after it (an uninstall
        hook's DDL, a property test's example), then forget the cache: the
        next example must not meet this one's records there (a write of a
        cached value would skip its UPDATE)."""
        with self.env.cr.savepoint(flush=False) as savepoint:
            yield
            savepoint.rollback()
        self.env.invalidate_all()

    def apply_queue(self):
        """Run the person queue's job, as the scheduler would right after a
        request (identities, metrics, scores); returns the rows applied."""
        return self.env["prm.person.queue"]._cron_apply()


class PrmIngestCommon(PrmCommon):
    """A tracking site and helpers to build API events."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.site = cls.env["prm.tracking.site"].create(
            {
                "name": "Test site",
                "allowed_origins": "https://www.example.com\nhttps://*.example.org",
            }
        )
        cls.now = fields.Datetime.now().replace(microsecond=0)
        cls._seq = 0

    @classmethod
    def _event(cls, type_="page_view", ago=None, at=None, **values):
        """An API event dict with a fresh id, `ago` a timedelta in the past
        (or `at` a naive UTC datetime)."""
        cls._seq += 1
        moment = at or cls.now - (ago or timedelta(minutes=1))
        event = {
            "id": f"ev-{cls._seq}",
            "type": type_,
            "occurred_at": moment.isoformat() + "Z",
        }
        event.update(values)
        return event

    def ingest(self, events, site=None, apply=True, **kwargs):
        """Ingest ``events`` for the site, then (unless ``apply`` is False) run
        the person queue's job as the scheduler would."""
        report = self.env["prm.ingest"]._ingest(
            events, site=site or self.site, **kwargs
        )
        if apply:
            self.apply_queue()
        return report

    def site_events(self, site=None):
        return self.env["prm.event"].search([("site_id", "=", (site or self.site).id)])
