# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import PrmIngestCommon


@tagged("post_install", "-at_install", "prm_tracking")
class TestPrmPixelHit(PrmIngestCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Hit = cls.env["prm.pixel.hit"]
        cls.site_2 = cls.env["prm.tracking.site"].create({"name": "Second site"})

    def enqueue(self, site=None, method="GET", headers=None, ago=None, **event):
        site = site or self.site
        received = self.now - (ago or timedelta(0))
        event = dict(
            {"id": f"px-{self._next()}", "type": "page_view", "visitor": "v-q"},
            occurred_at=received.isoformat(),
            user_agent="Mozilla/5.0",
            **event,
        )
        self.Hit._enqueue(
            site.id, site.company_id.id, event, method, headers or {}, received
        )

    @classmethod
    def _next(cls):
        cls._seq += 1
        return cls._seq

    def test_flush_stores_in_batches_and_empties_the_queue(self):
        """Hits of several sites become events in batches; the queue empties."""
        for index in range(5):
            self.enqueue(url=f"https://www.example.com/{index}", ago=timedelta(hours=1))
        self.enqueue(site=self.site_2, visitor="v-other")
        self.assertEqual(self.Hit._cron_flush(batch_size=2), 6)
        self.assertFalse(self.Hit.search_count([]))
        events = self.site_events()
        self.assertEqual(len(events), 5)
        self.assertEqual(set(events.mapped("origin")), {"pixel"})
        self.assertEqual(
            set(events.mapped("occurred_at")), {self.now - timedelta(hours=1)}
        )
        self.assertEqual(len(events.visitor_id), 1)
        self.assertEqual(len(self.site_events(self.site_2)), 1)

    def test_flush_reaches_the_person_and_metrics(self):
        """A hit of a visitor linked to a lead lands on the lead and its metrics."""
        self.ingest(
            [self._event("identify", visitor="v-known", email="prospect@example.com")]
        )
        self.enqueue(visitor="v-known")
        self.enqueue(visitor="v-known")
        self.Hit._cron_flush()
        self.apply_queue()
        self.lead.invalidate_recordset()
        self.assertEqual(self.lead.prm_event_count, 3)
        on_lead = self.env["prm.event"].search([("lead_id", "=", self.lead.id)])
        self.assertEqual(on_lead.mapped("origin").count("pixel"), 2)

    @mute_logger("odoo.addons.prm_tracking.models.prm_pixel_hit")
    def test_queued_hit_cannot_be_rewritten(self):
        """A manager can retry a failed hit, never rewrite what it says."""
        self.enqueue()
        hit = self.Hit.search([], order="id desc", limit=1)
        manager = self.sales_manager
        for vals in (
            {"event": {"id": "x", "email": "ceo@example.com"}},
            {"company_id": self.company_2.id},
            {"site_id": self.site_2.id},
        ):
            with self.assertRaises(UserError):
                hit.with_user(manager).write(vals)
        hit.sudo()._keep_failed(hit.ids, ValueError("boom"))
        hit.with_user(manager).action_retry()
        self.assertFalse(hit.error)

    def test_replayed_hit_is_a_duplicate(self):
        """The same hit id queued twice is stored once."""
        self.enqueue(id="px-same")
        self.enqueue(id="px-same")
        self.assertEqual(self.Hit._cron_flush(), 2)
        self.assertEqual(len(self.site_events()), 1)

    @mute_logger("odoo.addons.prm_tracking.models.prm_pixel_hit")
    def test_failed_batch_is_kept_and_retried(self):
        """A failing batch keeps its hits with the error; others go on; retry works."""
        self.enqueue()
        self.enqueue(site=self.site_2, visitor="v-other")
        real = type(self.env["prm.ingest"])._ingest

        def failing(events, raw_events, site=None, **kwargs):
            if site == self.site:
                raise ValueError("broken for the test")
            return real(events, raw_events, site=site, **kwargs)

        with patch.object(type(self.env["prm.ingest"]), "_ingest", failing):
            self.assertEqual(self.Hit._cron_flush(), 2)
        failed = self.Hit.search([])
        self.assertEqual(failed.site_id, self.site)
        self.assertEqual(failed.error, "broken for the test")
        self.assertFalse(self.site_events())
        self.assertEqual(len(self.site_events(self.site_2)), 1)
        self.assertEqual(self.Hit._cron_flush(), 0)  # failed hits are skipped
        failed.action_retry()
        self.assertEqual(self.Hit._cron_flush(), 1)
        self.assertEqual(len(self.site_events()), 1)
        self.assertFalse(self.Hit.search_count([]))

    @mute_logger("odoo.addons.prm_tracking.models.prm_pixel_hit")
    def test_site_deletion_flushes_first(self):
        """Deleting a site stores its queued hits; hits it cannot store block it."""
        self.enqueue(site=self.site_2, visitor="v-gone")
        self.site_2.unlink()
        self.assertFalse(self.Hit.search_count([]))
        self.assertEqual(
            self.env["prm.event"].search_count([("origin", "=", "pixel")]), 1
        )
        self.enqueue(visitor="v-kept")
        with patch.object(
            type(self.env["prm.ingest"]), "_ingest", side_effect=ValueError("nope")
        ):
            with self.assertRaises(UserError):
                self.site.unlink()
        self.assertTrue(self.site.exists())
        self.assertEqual(len(self.Hit.search([("site_id", "=", self.site.id)])), 1)

    def test_queue_readable_by_managers_only(self):
        """PRM managers see the queue of their companies; salespeople do not."""
        self.enqueue()
        site_2 = self.env["prm.tracking.site"].create(
            {"name": "Company 2 site", "company_id": self.company_2.id}
        )
        self.enqueue(site=site_2, visitor="v-c2")
        manager = self.sales_manager
        self.assertEqual(self.Hit.with_user(manager).search_count([]), 2)
        only_first = self.Hit.with_user(manager).with_context(
            allowed_company_ids=[self.company.id]
        )
        self.assertEqual(only_first.search([]).site_id, self.site)
        with self.assertRaises(AccessError):
            self.Hit.with_user(self.salesman).search([])
