# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The tracking endpoints against hostile input (regressions of what was seen
from outside, and property-based requests): never a 5xx, each bad event
rejected alone, the valid ones beside it stored."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odoo.tests import HttpCase, tagged

from .common import PrmIngestCommon

API = "/prm/api/v1/events"
COLLECT = "/prm/api/v1/collect"


@tagged("post_install", "-at_install", "prm_tracking")
class TestPrmIngestHostile(HttpCase, PrmIngestCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key = cls.site.action_generate_secret_key()["prm_secret_key"]

    def post_raw(self, data, url=API, headers=None):
        all_headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self.key}",
        }
        all_headers.update(headers or {})
        return self.url_open(url, data=data, headers=all_headers)

    def _valid_and(self, *bad_json):
        """A body with one valid event first, then each raw JSON event text."""
        valid = json.dumps(self._event())
        return ('{"events": [' + ", ".join((valid,) + bad_json) + "]}").encode()

    def test_unstorable_values_rejected_alone(self):
        """NaN, 1e400, a huge integer, NUL and lone surrogates in properties:
        200, each rejected with its index, the valid event stored."""
        bad = [
            '{"id": "n1", "type": "page_view", "properties": {"x": NaN}}',
            '{"id": "n2", "type": "page_view", "properties": {"x": 1e400}}',
            '{"id": "n3", "type": "page_view", "properties": {"x": -Infinity}}',
            '{"id": "n4", "type": "page_view", "properties": {"x": ' + "9" * 500 + "}}",
            '{"id": "n5", "type": "page_view", "properties": {"x": "a\\u0000b"}}',
            '{"id": "n6", "type": "page_view", "properties": {"x": "\\ud800"}}',
            '{"id": "n7", "type": "page_view", "title": "\\udfff"}',
            '{"id": "n8", "type": "page_view", '
            '"occurred_at": "9999-12-31T23:59:59-23:59"}',
        ]
        response = self.post_raw(self._valid_and(*bad))
        self.assertEqual(response.status_code, 200, response.text)
        report = response.json()
        self.assertEqual(report["accepted"], 1)
        self.assertEqual(
            [r["index"] for r in report["rejected"]], list(range(1, len(bad) + 1))
        )
        self.assertEqual(
            [r["id"] for r in report["rejected"]], [f"n{i}" for i in range(1, 9)]
        )
        self.assertEqual(len(self.site_events()), 1)

    def test_broken_urls_keys_and_ids(self):
        """Regressions: an unclosed IPv6 bracket in a URL or Origin, a key or
        an echoed id with NUL or a lone surrogate, an odd confirmation token:
        clear answers, never a 5xx."""
        bad = [
            '{"id": "u1", "type": "page_view", "url": "http://[x"}',
            '{"id": "u2", "type": "page_view", "referrer": "https://[::1"}',
            '{"id": "\\ud800", "type": "page_view", "url": "x"}',
            '{"id": "u4", "type": "\\ud800"}',
        ]
        response = self.post_raw(self._valid_and(*bad))
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["accepted"], 1)
        self.assertEqual(len(response.json()["rejected"]), 4)
        self.assertIsNone(response.json()["rejected"][2]["id"])
        for origin in ("http://[x", "https://www.example.com:99999"):
            response = self.url_open(
                COLLECT,
                data=json.dumps(
                    {"public_key": self.site.public_key, "events": [self._event()]}
                ),
                headers={"Content-Type": "text/plain", "Origin": origin},
            )
            self.assertEqual(response.status_code, 403)
        for key in ("prm_pk_\u0000", "prm_pk_\ud800", "prm_pk_%"):
            response = self.url_open(
                COLLECT,
                data=json.dumps({"public_key": key, "events": []}),
                headers={
                    "Content-Type": "text/plain",
                    "Origin": "https://www.example.com",
                },
            )
            self.assertEqual(response.status_code, 401, key)
        self.assertEqual(self.url_open("/prm/confirm/1/%C3%A9").status_code, 404)

    def test_deeply_nested_body_is_400(self):
        """A body nested past any parser's depth answers 400, stores nothing."""
        deep = b'{"events": [' + b"[" * 50000 + b"]" * 50000 + b"]}"
        response = self.post_raw(deep)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"], "malformed_json")
        nested = {"a": 1}
        for _level in range(30):
            nested = {"a": nested}
        response = self.post_raw(
            json.dumps({"events": [self._event(), self._event(properties=nested)]})
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["rejected"][0]["index"], 1)
        self.assertEqual(len(self.site_events()), 1)

    def test_odd_email_normalized_as_odoo_does(self):
        """'a(b)@example.com' is Odoo's 'a@example.com': one lead with it, and
        what Odoo cannot normalize is rejected."""
        response = self.post_raw(
            json.dumps(
                {
                    "events": [
                        self._event("identify", email="a(b)@example.com"),
                        self._event("identify", email="x@y.z@w"),
                        self._event("identify", email='"a b"@example.com'),
                    ]
                }
            )
        )
        self.assertEqual(response.status_code, 200, response.text)
        report = response.json()
        self.assertEqual(report["accepted"], 1)
        self.assertEqual([r["index"] for r in report["rejected"]], [1, 2])
        self.apply_queue()
        lead = self.env["crm.lead"].search([("email_normalized", "=", "a@example.com")])
        self.assertEqual(len(lead), 1)
        self.assertEqual(self.site_events().lead_id, lead)

    def test_chunked_body_over_the_limit_is_413(self):
        """A 3 MiB chunked body without Content-Length answers 413."""

        def chunks():
            yield b'{"events": [{"id": "c", "type": "page_view", "title": "'
            for _i in range(3 * 1024):
                yield b"x" * 1024
            yield b'"}]}'

        response = self.post_raw(chunks())
        self.assertEqual(response.status_code, 413)
        self.assertEqual(response.json()["error"], "too_large")
        response = self.post_raw(chunks(), url=COLLECT)
        self.assertEqual(response.status_code, 413)
        self.assertFalse(self.site_events())

    def test_declared_length_over_the_limit_is_json_413(self):
        """A declared 2 MiB body is refused by the route (JSON 413)."""
        response = self.post_raw(b"{" + b" " * (2 * 1024 * 1024) + b"}")
        self.assertEqual(response.status_code, 413)
        self.assertEqual(response.json()["error"], "too_large")

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        st.lists(
            st.dictionaries(
                st.sampled_from(
                    [
                        "id",
                        "type",
                        "occurred_at",
                        "email",
                        "visitor",
                        "url",
                        "title",
                        "utm",
                        "profile",
                        "properties",
                    ]
                ),
                st.recursive(
                    st.one_of(
                        st.none(),
                        st.booleans(),
                        st.integers(),
                        st.floats(),
                        st.text(max_size=20),
                    ),
                    lambda c: st.one_of(
                        st.lists(c, max_size=3),
                        st.dictionaries(st.text(max_size=5), c, max_size=3),
                    ),
                    max_leaves=10,
                ),
            ),
            max_size=4,
        )
    )
    def test_random_events_never_500(self, events):
        """Random events with a valid one: never a 5xx, the valid one stored."""
        valid = self._event()
        body = json.dumps({"events": [valid, *events]}, allow_nan=True)
        response = self.post_raw(body.encode("utf-8", "surrogatepass"))
        self.assertEqual(response.status_code, 200, response.text)
        report = response.json()
        self.assertEqual(
            report["accepted"] + report["duplicates"] + len(report["rejected"]),
            len(events) + 1,
        )
        self.assertTrue(
            self.env["prm.event"].search_count(
                [("site_id", "=", self.site.id), ("external_id", "=", valid["id"])]
            )
        )
