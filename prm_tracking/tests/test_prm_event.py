# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from psycopg2 import IntegrityError

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import PrmCommon

SEEDED_CODES = {
    "page_view",
    "registration",
    "identify",
    "form_submit",
    "email_open",
    "email_click",
    "email_reply",
    "download",
    "call",
    "meeting",
    "unsubscribe",
}


@tagged("post_install", "-at_install", "prm_tracking")
class TestPrmEvent(PrmCommon):
    def test_seeded_event_types(self):
        """Installing the addon seeds every event type the design names."""
        codes = set(self.env["prm.event.type"].search([]).mapped("code"))
        self.assertLessEqual(SEEDED_CODES, codes)
        self.assertEqual(
            self.env["prm.event.type"]._get_by_code("email_open").channel, "email"
        )

    def test_event_type_code_unique(self):
        """A second event type with an existing code is refused by the database."""
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            with self.env.cr.savepoint():
                self.env["prm.event.type"].create(
                    {"name": "Another page view", "code": "page_view"}
                )

    def test_event_type_code_format(self):
        """An event type code must be a lowercase identifier."""
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            with self.env.cr.savepoint():
                self.env["prm.event.type"].create({"name": "Bad", "code": "Bad Code"})

    def test_event_company_follows_lead(self):
        """An event on a lead of another company belongs to that company."""
        event = self.env["prm.event"].create(
            {"event_type_id": self.page_view.id, "lead_id": self.lead_2.id}
        )
        self.assertEqual(event.company_id, self.company_2)
        event_no_lead = self.env["prm.event"].create(
            {"event_type_id": self.page_view.id}
        )
        self.assertEqual(event_no_lead.company_id, self.env.company)

    def test_event_count_on_type(self):
        """The event type counts the events recorded with it."""
        self.env["prm.event"].create(
            [{"event_type_id": self.page_view.id, "lead_id": self.lead.id}] * 3
        )
        self.assertEqual(self.page_view.event_count, 3)

    def test_first_touch(self):
        """A person's first touch is the site and referrer domain of their
        earliest non-bot event; it follows when that event is deleted, and
        the upgrade's backfill computes the same."""
        Event = self.env["prm.event"]
        site_1, site_2 = self.env["prm.tracking.site"].create(
            [{"name": "First site"}, {"name": "Second site"}]
        )
        day = fields.Datetime.to_datetime("2026-05-04 10:00:00")

        def event(when, site, referrer, **vals):
            return Event.create(
                dict(
                    event_type_id=self.page_view.id,
                    lead_id=self.lead.id,
                    occurred_at=day + timedelta(hours=when),
                    site_id=site.id,
                    referrer=referrer,
                    **vals,
                )
            )

        event(0, site_2, "https://crawler.example/", is_bot=True)
        first = event(1, site_1, "HTTPS://WWW.Search.Example:443/q?x=1")
        event(2, site_2, "https://other.example/")
        lead = self.lead
        self.assertEqual(lead.prm_first_site_id, site_1)
        self.assertEqual(lead.prm_first_referrer_domain, "search.example")
        first.unlink()
        self.assertEqual(lead.prm_first_site_id, site_2)
        self.assertEqual(lead.prm_first_referrer_domain, "other.example")
        self.env.cr.execute(
            "UPDATE crm_lead SET prm_first_site_id = NULL, "
            "prm_first_referrer_domain = NULL WHERE id = %s",
            [lead.id],
        )
        lead.invalidate_recordset()
        self.env["crm.lead"]._prm_recompute_all_metrics(batch_size=1)
        self.assertEqual(
            (lead.prm_first_site_id, lead.prm_first_referrer_domain),
            (site_2, "other.example"),
        )
