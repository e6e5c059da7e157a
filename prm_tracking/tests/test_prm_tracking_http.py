# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json

from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from .common import PrmIngestCommon

API = "/prm/api/v1/events"
COLLECT = "/prm/api/v1/collect"


@tagged("post_install", "-at_install", "prm_tracking")
class TestPrmTrackingHttp(HttpCase, PrmIngestCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key = cls.site.action_generate_secret_key()["prm_secret_key"]

    def post_api(self, body, key=None, raw=False, headers=None):
        data = body if raw else json.dumps(body)
        all_headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {key or self.key}",
        }
        all_headers.update(headers or {})
        return self.url_open(API, data=data, headers=all_headers)

    def post_collect(self, body, origin="https://www.example.com", headers=None):
        all_headers = {
            "Content-Type": "text/plain",
            "User-Agent": "Mozilla/5.0 Firefox/130",
        }
        if origin:
            all_headers["Origin"] = origin
        all_headers.update(headers or {})
        return self.url_open(COLLECT, data=json.dumps(body), headers=all_headers)

    def test_api_accepts_and_reports(self):
        """A valid batch answers 200 with the per-event report."""
        response = self.post_api({"events": [self._event(), {"type": "page_view"}]})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response.json(),
            {
                "accepted": 1,
                "duplicates": 0,
                "rejected": [{"index": 1, "id": None, "error": "id: required"}],
            },
        )
        self.assertEqual(len(self.site_events()), 1)

    def test_api_replay(self):
        """Replaying a batch over HTTP answers duplicates and stores nothing new."""
        batch = {"events": [self._event(), self._event()]}
        self.assertEqual(self.post_api(batch).json()["accepted"], 2)
        self.assertEqual(
            self.post_api(batch).json(),
            {"accepted": 0, "duplicates": 2, "rejected": []},
        )
        self.assertEqual(len(self.site_events()), 2)

    def test_api_bad_keys(self):
        """Missing, wrong and rotated secret keys get a 401 JSON error."""
        no_auth = self.url_open(
            API,
            data=json.dumps({"events": []}),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(no_auth.status_code, 401)
        self.assertEqual(no_auth.json()["error"], "invalid_key")
        self.assertEqual(
            self.post_api({"events": []}, key="prm_sk_wrong").status_code, 401
        )
        old = self.key
        new = self.site.action_generate_secret_key()["prm_secret_key"]
        self.assertEqual(
            self.post_api({"events": [self._event()]}, key=old).status_code, 401
        )
        self.assertEqual(
            self.post_api({"events": [self._event()]}, key=new).status_code, 200
        )
        self.assertEqual(len(self.site_events()), 1)

    def test_api_malformed_bodies(self):
        """Malformed JSON and wrong shapes get a 400 with the reason, store nothing."""
        cases = [
            ('{"events": [', "malformed_json"),
            ("[1, 2]", "malformed_body"),
            ('{"events": {"id": 1}}', "malformed_body"),
            ('{"no_events": []}', "malformed_body"),
            (b"\xff\xfe", "malformed_json"),
        ]
        for body, code in cases:
            response = self.post_api(body, raw=True)
            self.assertEqual(response.status_code, 400, body)
            self.assertEqual(response.json()["error"], code)
            self.assertTrue(response.json()["message"])
        self.assertFalse(self.site_events())

    def test_api_too_large(self):
        """1,001 events or more than 1 MiB get a 413 and store nothing."""
        many = {"events": [self._event() for _i in range(1001)]}
        response = self.post_api(many)
        self.assertEqual(response.status_code, 413)
        self.assertEqual(response.json()["error"], "too_many_events")
        big = {"events": [self._event(title="x" * 2000) for _i in range(600)]}
        response = self.post_api(big)
        self.assertEqual(response.status_code, 413)
        self.assertEqual(response.json()["error"], "too_large")
        self.assertFalse(self.site_events())

    def test_api_rate_limited(self):
        """A site over its per-minute limit gets 429 with Retry-After."""
        site = self.env["prm.tracking.site"].create(
            {"name": "Limited", "rate_limit": 3}
        )
        key = site.action_generate_secret_key()["prm_secret_key"]
        self.assertEqual(
            self.post_api(
                {"events": [self._event(), self._event()]}, key=key
            ).status_code,
            200,
        )
        response = self.post_api({"events": [self._event(), self._event()]}, key=key)
        self.assertEqual(response.status_code, 429)
        self.assertEqual(response.headers["Retry-After"], "60")
        self.assertEqual(len(self.site_events(site)), 2)

    def test_collect_origin_and_cors(self):
        """The browser endpoint accepts allowed origins (CORS), refuses others."""
        body = {
            "public_key": self.site.public_key,
            "events": [self._event(visitor="v-1")],
        }
        response = self.post_collect(body)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            response.headers["Access-Control-Allow-Origin"], "https://www.example.com"
        )
        self.assertEqual(response.json()["accepted"], 1)
        event = self.site_events()
        self.assertEqual((event.origin, event.visitor_id.token), ("browser", "v-1"))
        refused = self.post_collect(
            dict(body, events=[self._event(visitor="v-1")]),
            origin="https://evil.example.net",
        )
        self.assertEqual(refused.status_code, 403)
        self.assertNotIn("Access-Control-Allow-Origin", refused.headers)
        self.assertEqual(self.post_collect(body, origin=None).status_code, 403)
        bad_key = self.post_collect(dict(body, public_key="prm_pk_nope"))
        self.assertEqual(bad_key.status_code, 401)
        preflight = self.opener.options(
            self.base_url() + COLLECT,
            headers={"Origin": "https://shop.example.org"},
            timeout=10,
        )
        self.assertEqual(preflight.status_code, 204)
        self.assertEqual(
            preflight.headers["Access-Control-Allow-Origin"], "https://shop.example.org"
        )
        self.assertEqual(len(self.site_events()), 1)

    def test_collect_needs_visitor(self):
        """Browser events must name their visitor."""
        body = {"public_key": self.site.public_key, "events": [self._event()]}
        report = self.post_collect(body).json()
        self.assertEqual(report["rejected"][0]["error"], "visitor: required")

    def test_collect_honours_dnt_gpc_and_consent(self):
        """Do-Not-Track, GPC and missing consent drop browser events."""
        body = {
            "public_key": self.site.public_key,
            "events": [self._event(visitor="v-p")],
        }
        self.assertEqual(
            self.post_collect(body, headers={"DNT": "1"}).json()["accepted"], 0
        )
        self.assertEqual(
            self.post_collect(body, headers={"Sec-GPC": "1"}).json()["accepted"], 0
        )
        self.site.require_consent = True
        self.assertEqual(self.post_collect(body).json()["accepted"], 0)
        self.assertFalse(self.site_events())
        self.assertEqual(
            self.post_collect(dict(body, consent=True)).json()["accepted"], 1
        )

    def flush(self):
        return self.env["prm.pixel.hit"]._cron_flush()

    def test_pixel(self):
        """The pixel always answers a GIF; valid hits stored, invalid counted."""
        url = f"/prm/p.gif?k={self.site.public_key}&v=v-px&u=https://www.example.com/x&i=px-1"
        ua = {"User-Agent": "Mozilla/5.0 Firefox/130"}
        response = self.url_open(url, headers=ua)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"], "image/gif")
        self.assertTrue(response.content.startswith(b"GIF89a"))
        hit = self.env["prm.pixel.hit"].search([("site_id", "=", self.site.id)])
        self.assertEqual(len(hit), 1)
        self.assertFalse(self.site_events())
        received = hit.received_at
        self.assertEqual(self.flush(), 1)
        event = self.site_events()
        self.assertEqual(
            (event.origin, event.url, event.is_bot, event.external_id),
            ("pixel", "https://www.example.com/x", False, "px-1"),
        )
        self.assertEqual(event.occurred_at, received.replace(microsecond=0))
        self.assertFalse(hit.exists())
        for bad in (
            "/prm/p.gif",
            "/prm/p.gif?k=prm_pk_unknown&v=x",
            f"/prm/p.gif?k={self.site.public_key}&v=v-px&t=nope",
            f"/prm/p.gif?k={self.site.public_key}",
        ):
            response = self.url_open(bad, headers=ua)
            self.assertEqual(response.status_code, 200, bad)
            self.assertEqual(response.headers["Content-Type"], "image/gif")
        self.assertEqual(self.flush(), 2)  # unknown keys are never queued
        self.site.invalidate_recordset(["rejected_count"])
        self.assertEqual(self.site.rejected_count, 2)
        self.assertEqual(len(self.site_events()), 1)
        self.assertFalse(self.env["prm.pixel.hit"].search_count([]))

    def test_pixel_head_and_bot_flagged(self):
        """HEAD requests, prefetches and bot user agents are stored as bots."""
        base = f"/prm/p.gif?k={self.site.public_key}&v=v-bot"
        self.url_open(base + "&i=h1", head=True, headers={"User-Agent": "Mozilla/5.0"})
        self.url_open(base + "&i=b1", headers={"User-Agent": "curl/8.0"})
        self.url_open(
            base + "&i=p1",
            headers={"User-Agent": "Mozilla/5.0", "Sec-Purpose": "prefetch"},
        )
        self.url_open(base + "&i=n1", headers={"User-Agent": ""})
        self.url_open(base + "&i=ok", headers={"User-Agent": "Mozilla/5.0"})
        self.flush()
        reasons = sorted(self.site_events().mapped(lambda e: e.bot_reason or ""))
        self.assertEqual(
            reasons,
            [
                "",
                "HEAD request",
                "no user agent",
                "sec-purpose prefetch",
                "user agent: curl",
            ],
        )

    def test_pixel_privacy(self):
        """Under DNT, GPC or missing consent the pixel queues nothing."""
        url = f"/prm/p.gif?k={self.site.public_key}&v=v-private"
        self.url_open(url, headers={"DNT": "1"})
        self.url_open(url, headers={"Sec-GPC": "1"})
        self.site.require_consent = True
        self.url_open(url)
        self.assertFalse(self.env["prm.pixel.hit"].search_count([]))
        self.url_open(url + "&c=1")
        self.assertEqual(self.flush(), 1)
        self.assertEqual(len(self.site_events()), 1)

    def test_tracker_js_served(self):
        """The snippet's script is served as JavaScript and honours DNT/GPC."""
        response = self.url_open("/prm/tracker.js")
        self.assertEqual(response.status_code, 200)
        self.assertIn("javascript", response.headers["Content-Type"])
        self.assertIn("globalPrivacyControl", response.text)
        self.assertIn("/prm/api/v1/collect", response.text)

    @mute_logger("odoo.http")
    def test_endpoints_never_reveal_persons(self):
        """The answer is the same whether the email belongs to someone or not."""
        self.env["mail.blacklist"]._add("hidden@example.com")
        known = self.post_api(
            {"events": [self._event("identify", email="prospect@example.com")]}
        )
        blocked = self.post_api(
            {"events": [self._event("identify", email="hidden@example.com")]}
        )
        unknown = self.post_api(
            {"events": [self._event("identify", email="nobody@example.com")]}
        )
        self.assertEqual(known.json(), blocked.json())
        self.assertEqual(known.json(), unknown.json())
