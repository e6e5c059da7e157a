# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Rate limits and the pixel queue's bound."""

import json
from datetime import timedelta

from odoo.tests import HttpCase, tagged

from ..models import prm_pixel_hit
from .common import PrmIngestCommon

API = "/prm/api/v1/events"
COLLECT = "/prm/api/v1/collect"
ORIGIN = "https://www.example.com"


@tagged("post_install", "-at_install", "prm_tracking")
class TestPrmLimits(HttpCase, PrmIngestCommon):
    def _site(self, **values):
        site = self.env["prm.tracking.site"].create(
            dict({"name": "Limited", "allowed_origins": ORIGIN}, **values)
        )
        return site, site.action_generate_secret_key()["prm_secret_key"]

    def api(self, key, events):
        return self.url_open(
            API,
            data=json.dumps({"events": events}),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {key}",
            },
        )

    def collect(self, site, events):
        return self.url_open(
            COLLECT,
            data=json.dumps({"public_key": site.public_key, "events": events}),
            headers={"Content-Type": "text/plain", "Origin": ORIGIN},
        )

    def test_public_flood_leaves_the_api_alone(self):
        """The public channels and the secret API have separate budgets."""
        site, key = self._site(public_rate_limit=3, rate_limit=100)
        events = [self._event(visitor="v-flood") for _i in range(3)]
        self.assertEqual(self.collect(site, events).status_code, 200)
        flooded = self.collect(site, [self._event(visitor="v-flood2")])
        self.assertEqual(flooded.status_code, 429)
        self.assertEqual(flooded.json()["error"], "rate_limited")
        self.assertEqual(self.api(key, [self._event(), self._event()]).status_code, 200)
        self.assertEqual(len(self.site_events(site)), 5)

    def test_visitor_and_ip_limits(self):
        """One visitor, or one IP address, cannot use up the site's budget."""
        site, _key = self._site(
            public_rate_limit=1000, visitor_rate_limit=2, ip_rate_limit=5
        )
        ok = self.collect(
            site, [self._event(visitor="v-a"), self._event(visitor="v-a")]
        )
        self.assertEqual(ok.status_code, 200)
        self.assertEqual(
            self.collect(site, [self._event(visitor="v-a")]).status_code, 429
        )
        self.assertEqual(
            self.collect(site, [self._event(visitor="v-b")]).status_code, 200
        )
        burst = [self._event(visitor=f"v-ip{i}") for i in range(3)]
        self.assertEqual(self.collect(site, burst).status_code, 429)  # 3 + 3 > 5
        self.assertEqual(len(self.site_events(site)), 3)

    def test_pixel_queue_is_bounded(self):
        """Past the queue's bound, pixel hits are dropped (still a GIF) and
        counted on their site; nothing is queued."""
        site, _key = self._site()
        self.env["ir.config_parameter"].set_param("prm_tracking.pixel_queue_max", 2)
        prm_pixel_hit.GAUGE.state.clear()
        for i in range(5):
            response = self.url_open(
                f"/prm/p.gif?k={site.public_key}&v=v-px{i}",
                headers={"User-Agent": "Mozilla/5.0 Firefox/130"},
            )
            self.assertEqual(response.headers["Content-Type"], "image/gif")
        Hit = self.env["prm.pixel.hit"]
        self.assertEqual(Hit.search_count([("site_id", "=", site.id)]), 2)
        Hit._refresh_gauge(self.env.cr.dbname)  # saves the counts, as every 5 s
        site.invalidate_recordset(["pixel_dropped_count"])
        self.assertEqual(site.pixel_dropped_count, 3)
        self.env["ir.config_parameter"].set_param("prm_tracking.pixel_queue_max", 0)
        prm_pixel_hit.GAUGE.state.clear()

    def test_failed_hits_purged_by_retention(self):
        """Failed pixel hits older than the retention period are deleted."""
        site, _key = self._site()
        self.env["ir.config_parameter"].set_param("prm_tracking.retention_days", 30)
        Hit = self.env["prm.pixel.hit"]
        old = Hit.create(
            {
                "site_id": site.id,
                "company_id": site.company_id.id,
                "received_at": self.now - timedelta(days=40),
                "method": "GET",
                "event": {"id": "x"},
                "error": "boom",
            }
        )
        recent = old.copy({"received_at": self.now - timedelta(days=2)})
        self.env["prm.retention"]._cron_purge_expired()
        self.assertFalse(old.exists())
        self.assertTrue(recent.exists())
