# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo.tests import tagged

from odoo.addons.prm_tracking.tests.common import PrmCommon


@tagged("post_install", "-at_install", "prm_tracking")
class TestPrmMassMailing(PrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mailing = cls.env["mailing.mailing"].create(
            {"name": "PRM spring", "subject": "Spring offer", "body_html": "<p>Hi</p>"}
        )
        cls.partner = cls.env["res.partner"].create(
            {"name": "Mailing Contact", "email": "contact@example.com"}
        )

    def _trace(self, **values):
        vals = {
            "model": "crm.lead",
            "res_id": self.lead.id,
            "email": "prospect@example.com",
            "mass_mailing_id": self.mailing.id,
            "trace_status": "sent",
            "sent_datetime": self.env.cr.now() - timedelta(hours=1),
        }
        vals.update(values)
        return self.env["mailing.trace"].create(vals)

    def _events(self, code):
        return self.env["prm.event"].search(
            [("origin", "=", "mass_mailing"), ("event_type_id.code", "=", code)]
        )

    def test_open_becomes_event_on_lead(self):
        """A real trace open becomes one email_open event on the lead, with UTM."""
        trace = self._trace()
        trace.set_opened()
        trace.set_opened()  # a second open of the same email is not a new open
        event = self._events("email_open")
        self.assertEqual(len(event), 1)
        self.assertEqual(event.lead_id, self.lead)
        self.assertEqual(event.title, "Spring offer")
        self.assertEqual(event.campaign_id, self.mailing.campaign_id)
        self.assertEqual(event.source_id, self.mailing.source_id)
        self.apply_queue()
        self.assertEqual(self.lead.prm_email_opens, 1)

    def test_click_becomes_event_with_url(self):
        """A link click in a mailing becomes an email_click event with its URL."""
        trace = self._trace()
        link = self.env["link.tracker"].create(
            {"url": "https://www.example.com/offer", "mass_mailing_id": self.mailing.id}
        )
        self.env["link.tracker.click"].sudo().add_click(
            link.code, ip="192.0.2.1", country_code="BE", mailing_trace_id=trace.id
        )
        click = self._events("email_click")
        self.assertEqual(click.url, "https://www.example.com/offer")
        self.assertEqual(click.lead_id, self.lead)
        self.assertFalse(click.is_bot)
        self.assertEqual(len(self._events("email_open")), 1)  # a click implies an open
        self.apply_queue()
        self.assertEqual(
            (self.lead.prm_email_clicks, self.lead.prm_email_opens), (1, 1)
        )

    def test_scanner_click_flagged(self):
        """A click seconds after delivery is stored as a bot and not counted."""
        trace = self._trace(sent_datetime=self.env.cr.now() - timedelta(seconds=2))
        link = self.env["link.tracker"].create({"url": "https://www.example.com/x"})
        self.env["link.tracker.click"].sudo().add_click(
            link.code, ip="192.0.2.1", mailing_trace_id=trace.id
        )
        click = self._events("email_click")
        self.assertTrue(click.is_bot)
        self.assertIn("after delivery", click.bot_reason)
        self.apply_queue()
        self.assertEqual(self.lead.prm_email_clicks, 0)

    def test_reply_and_partner_by_email(self):
        """A reply to a list mailing lands on the partner with that email."""
        trace = self._trace(
            model="mailing.contact", res_id=1, email="contact@example.com"
        )
        trace.set_replied()
        reply = self._events("email_reply")
        self.assertEqual(reply.partner_id, self.partner)
        self.apply_queue()
        self.assertEqual(self.partner.prm_event_count, 1)

    def test_email_match_stays_in_the_mailing_company(self):
        """A list mailing's reply reaches a lead of the mailing's company with
        that email, never another company's."""
        self.env["crm.lead"].create(
            {"name": "Elsewhere", "email_from": "shared@example.com",
             "company_id": self.company_2.id}
        )  # fmt: skip
        trace = self._trace(
            model="mailing.contact", res_id=1, email="shared@example.com"
        )
        trace.set_replied()
        self.assertFalse(self._events("email_reply").lead_id)
        here = self.env["crm.lead"].create(
            {"name": "Here", "email_from": "shared@example.com"}
        )
        trace = self._trace(
            model="mailing.contact", res_id=2, email="shared@example.com"
        )
        trace.set_replied()
        self.assertEqual(self._events("email_reply").lead_id, here)

    def test_backfill_is_idempotent(self):
        """The backfill imports past opens once, however often it runs."""
        moment = self.env.cr.now() - timedelta(days=3)
        self._trace(trace_status="open", open_datetime=moment)
        self.assertEqual(self.env["mailing.trace"]._prm_backfill(), 1)
        self.assertEqual(self.env["mailing.trace"]._prm_backfill(), 0)
        event = self._events("email_open")
        self.assertEqual((event.occurred_at, event.lead_id), (moment, self.lead))

    def test_blacklisted_recipient_not_tracked(self):
        """Opens of a blacklisted recipient are not recorded."""
        self.env["mail.blacklist"]._add("prospect@example.com")
        self._trace().set_opened()
        self.assertFalse(self._events("email_open"))
