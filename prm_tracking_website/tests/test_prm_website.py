# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo.tests import tagged

from odoo.addons.prm_tracking.tests.common import PrmCommon


@tagged("post_install", "-at_install", "prm_tracking")
class TestPrmWebsite(PrmCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.visitor = cls.env["website.visitor"].create(
            {
                "access_token": "f" * 32,
                "website_id": cls.env["website"].search([], limit=1).id,
            }
        )
        now = cls.env.cr.now()
        cls.tracks = cls.env["website.track"].create(
            [
                {
                    "visitor_id": cls.visitor.id,
                    "url": "/pricing",
                    "visit_datetime": now - timedelta(days=2),
                },
                {
                    "visitor_id": cls.visitor.id,
                    "url": "/contactus",
                    "visit_datetime": now - timedelta(days=1),
                },
            ]
        )

    def _events(self):
        return self.env["prm.event"].search([("origin", "=", "website")])

    def test_page_views_of_lead_visitors_copied_once(self):
        """Tracks of a visitor linked to a lead become page views on it, once."""
        Track = self.env["website.track"]
        self.assertEqual(Track._prm_sync(), 0)  # anonymous visitor: nothing yet
        self.lead.visitor_ids = [(4, self.visitor.id)]
        self.assertEqual(Track._prm_sync(), 2)
        self.assertEqual(Track._prm_sync(), 0)
        events = self._events()
        self.assertEqual(set(events.lead_id.ids), {self.lead.id})
        self.assertTrue(all(e.url.endswith(("/pricing", "/contactus")) for e in events))
        self.assertTrue(all(e.url.startswith("http") for e in events))
        self.apply_queue()
        self.assertEqual(self.lead.prm_visits_30d, 2)

    def test_do_not_track_lead_skipped(self):
        """Page views of a do-not-track lead are not copied."""
        self.lead.prm_do_not_track = True
        self.lead.visitor_ids = [(4, self.visitor.id)]
        self.assertEqual(self.env["website.track"]._prm_sync(), 0)

    def test_untrackable_contact_skipped(self):
        """Page views of a do-not-track or blacklisted contact are not copied."""
        partner = self.env["res.partner"].create(
            {"name": "Private", "email": "private@example.com"}
        )
        self.lead.partner_id = partner
        self.lead.visitor_ids = [(4, self.visitor.id)]
        self.env["mail.blacklist"]._add("private@example.com")
        self.assertEqual(self.env["website.track"]._prm_sync(), 0)
        self.env["mail.blacklist"]._remove("private@example.com")
        partner.prm_do_not_track = True
        self.assertEqual(self.env["website.track"]._prm_sync(), 0)
        partner.prm_do_not_track = False
        self.assertEqual(self.env["website.track"]._prm_sync(), 2)
        self.assertEqual(self._events().partner_id, partner)
