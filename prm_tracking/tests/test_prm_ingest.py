# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import PrmIngestCommon


@tagged("post_install", "-at_install", "prm_tracking")
class TestPrmIngest(PrmIngestCommon):
    def test_report_and_storage(self):
        """Valid events are stored with their fields; the report counts them."""
        report = self.ingest(
            [
                self._event(
                    url="https://www.example.com/pricing",
                    title="Pricing",
                    referrer="https://search.example.net/?q=crm",
                    utm={"source": "PRM news", "medium": "Email", "campaign": "Spring"},
                    properties={"plan": "pro"},
                ),
                self._event("download", url="https://www.example.com/guide.pdf"),
            ]
        )
        self.assertEqual(report, {"accepted": 2, "duplicates": 0, "rejected": []})
        events = self.site_events().sorted("external_id")
        self.assertEqual(len(events), 2)
        view = events.filtered(lambda e: e.event_code == "page_view")
        self.assertEqual(view.url, "https://www.example.com/pricing")
        self.assertEqual(view.source_id.name, "PRM news")
        self.assertEqual(view.medium_id.name, "Email")
        self.assertEqual(view.campaign_id.name, "Spring")
        self.assertEqual(view.payload["properties"], {"plan": "pro"})
        self.assertEqual((view.origin, view.channel), ("api", "web"))
        self.assertEqual(view.company_id, self.site.company_id)

    def test_replay_is_idempotent(self):
        """Replaying a batch stores nothing twice and answers duplicates."""
        batch = [self._event(), self._event(), self._event("email_open")]
        self.assertEqual(self.ingest(batch)["accepted"], 3)
        report = self.ingest(batch)
        self.assertEqual(report, {"accepted": 0, "duplicates": 3, "rejected": []})
        self.assertEqual(len(self.site_events()), 3)
        # the same id twice in one batch is stored once too
        twice = self._event()
        report = self.ingest([twice, dict(twice)])
        self.assertEqual((report["accepted"], report["duplicates"]), (1, 1))
        # a single anonymous event (the snippet's one-statement path) too
        single = self._event(visitor="v-single")
        self.assertEqual(self.ingest([single])["accepted"], 1)
        self.assertEqual(
            self.ingest([single]), {"accepted": 0, "duplicates": 1, "rejected": []}
        )
        self.assertEqual(
            len(
                self.site_events().filtered(lambda e: e.visitor_id.token == "v-single")
            ),
            1,
        )

    def test_ids_are_per_site(self):
        """Two sites may use the same event id."""
        other = self.env["prm.tracking.site"].create({"name": "Other site"})
        event = self._event()
        self.ingest([event])
        self.assertEqual(self.ingest([event], site=other)["accepted"], 1)

    def test_bad_events_rejected_with_reason(self):
        """Each bad event is rejected with index, id and reason; the rest is kept."""
        future = (self.now + timedelta(hours=2)).isoformat() + "Z"
        batch = [
            self._event(),
            {"type": "page_view"},
            self._event("no_such_type"),
            self._event(occurred_at=future),
            self._event(occurred_at="yesterday"),
            self._event(url="javascript:alert(1)"),
            self._event(visitor="has spaces"),
            self._event("identify", email="not-an-email"),
            self._event(utm="google"),
            self._event(profile={"company_size": "huge"}),
            {"id": {"nested": 1}, "type": "page_view"},
            "not an object",
            self._event(occurred_at=True),
        ]
        report = self.ingest(batch)
        self.assertEqual(report["accepted"], 1)
        errors = {r["index"]: r["error"] for r in report["rejected"]}
        self.assertEqual(sorted(errors), list(range(1, len(batch))))
        self.assertIn("id: required", errors[1])
        self.assertIn("unknown event type", errors[2])
        self.assertIn("in the future", errors[3])
        self.assertIn("ISO 8601", errors[4])
        self.assertIn("http(s)", errors[5])
        self.assertIn("visitor", errors[6])
        self.assertIn("email", errors[7])
        self.assertIn("utm", errors[8])
        self.assertIn("company_size", errors[9])
        self.assertEqual(report["rejected"][1]["id"], batch[2]["id"])
        self.assertIsNone(report["rejected"][9]["id"])
        self.assertEqual(len(self.site_events()), 1)

    def test_markup_stored_inert(self):
        """Script or HTML in a title is stored as plain text, never interpreted."""
        title = '<script>alert("x")</script><b>Bold</b>'
        url = "https://www.example.com/?q=<img src=x onerror=alert(1)>"
        self.ingest([self._event(title=title, url=url)])
        event = self.site_events()
        self.assertEqual(event.title, title)
        self.assertEqual(event.url, url)
        self.assertIsInstance(event.title, str)

    def test_stitching_creates_lead_and_moves_history(self):
        """Identify with a new email creates a lead with the declared profile and
        UTM, moves the visitor's earlier events onto it, and later ones follow."""
        belgium = self.env.ref("base.be")
        earlier = [
            self._event(visitor="v-anon-1", ago=timedelta(days=3)),
            self._event(visitor="v-anon-1", ago=timedelta(days=2)),
        ]
        self.ingest(earlier)
        visitor = self.env["prm.visitor"].search([("token", "=", "v-anon-1")])
        self.assertFalse(visitor.lead_id)
        self.assertFalse(self.site_events().lead_id)
        report = self.ingest(
            [
                self._event(
                    "registration",
                    visitor="v-anon-1",
                    email="New.Person@Example.COM",
                    utm={"source": "Fair 2026", "medium": "Banner", "campaign": "Q4"},
                    profile={
                        "name": "New Person",
                        "company": "Newco",
                        "country": "be",
                        "function": "CTO",
                        "industry": "PRM test industry",
                        "company_size": "11-50",
                        "age_band": "35-44",
                        "interests": ["CRM", "Automation"],
                    },
                )
            ]
        )
        self.assertEqual(report["accepted"], 1)
        lead = self.env["crm.lead"].search(
            [("email_normalized", "=", "new.person@example.com")]
        )
        self.assertEqual(len(lead), 1)
        self.assertEqual(lead.type, "lead")
        self.assertEqual(lead.contact_name, "New Person")
        self.assertEqual(lead.partner_name, "Newco")
        self.assertEqual(lead.country_id, belgium)
        self.assertEqual(lead.function, "CTO")
        self.assertEqual(lead.prm_company_size, "11_50")
        self.assertEqual(lead.prm_age_band, "35_44")
        self.assertEqual(
            sorted(lead.prm_interest_ids.mapped("name")), ["Automation", "CRM"]
        )
        self.assertEqual(lead.source_id.name, "Fair 2026")
        self.assertEqual(lead.medium_id.name, "Banner")
        self.assertEqual(lead.campaign_id.name, "Q4")
        self.assertEqual(visitor.lead_id, lead)
        self.assertEqual(self.site_events().lead_id, lead)
        self.assertEqual(lead.prm_event_count, 3)
        # a later anonymous-looking event of the visitor lands on the lead
        self.ingest([self._event(visitor="v-anon-1", ago=timedelta(seconds=5))])
        self.assertEqual(lead.prm_event_count, 4)
        self.assertEqual(len(self.site_events().filtered(lambda e: not e.lead_id)), 0)

    def test_identify_known_partner(self):
        """Identify with a partner's email links the visitor to that partner."""
        partner = self.env["res.partner"].create(
            {"name": "Known Person", "email": "known@example.com"}
        )
        self.ingest([self._event(visitor="v-known")])
        self.ingest(
            [self._event("identify", visitor="v-known", email="KNOWN@example.com")]
        )
        visitor = self.env["prm.visitor"].search([("token", "=", "v-known")])
        self.assertEqual(visitor.partner_id, partner)
        self.assertFalse(
            self.env["crm.lead"].search(
                [("email_normalized", "=", "known@example.com")]
            )
        )
        self.assertEqual(partner.prm_event_count, 2)
        self.assertEqual(self.site_events().partner_id, partner)

    def test_identify_existing_lead_no_duplicate(self):
        """Identify with a lead's email links to that lead instead of creating one."""
        self.ingest(
            [self._event("identify", visitor="v-lead", email="prospect@example.com")]
        )
        self.assertEqual(
            self.env["crm.lead"].search_count(
                [("email_normalized", "=", "prospect@example.com")]
            ),
            1,
        )
        self.assertEqual(
            self.env["prm.visitor"].search([("token", "=", "v-lead")]).lead_id,
            self.lead,
        )

    def test_metrics(self):
        """Metrics count events, visit days, opens and clicks; bots are left out."""
        lead = self.lead
        noon = datetime(2026, 6, 15, 12, 0, 0)
        email = "prospect@example.com"
        with freeze_time(noon):
            self.ingest(
                [
                    self._event(email=email, at=noon - timedelta(days=40)),
                    self._event(email=email, at=noon - timedelta(days=20)),
                    self._event(email=email, at=noon - timedelta(days=2, hours=1)),
                    self._event(email=email, at=noon - timedelta(days=2)),
                    self._event(email=email, at=noon - timedelta(hours=1)),
                    self._event("email_open", email=email, at=noon),
                    self._event("email_click", email=email, at=noon),
                    self._event(
                        email=email,
                        at=noon,
                        user_agent="Mozilla/5.0 (compatible; Googlebot/2.1)",
                    ),
                ]
            )
        self.assertEqual(lead.prm_event_count, 7)
        self.assertEqual(lead.prm_visits_7d, 2)
        self.assertEqual(lead.prm_visits_30d, 3)
        self.assertEqual((lead.prm_email_opens, lead.prm_email_clicks), (1, 1))
        self.assertEqual(lead.prm_first_seen, noon - timedelta(days=40))
        self.assertEqual(lead.prm_last_seen, noon)
        bot = self.site_events().filtered("is_bot")
        self.assertEqual(bot.bot_reason, "user agent: bot")
        # the daily refresh rolls the windows forward
        with freeze_time(noon + timedelta(days=12)):
            self.env["prm.retention"]._cron_refresh_metrics()
            self.apply_queue()
        self.assertEqual((lead.prm_visits_7d, lead.prm_visits_30d), (0, 2))
        self.assertEqual(lead.prm_event_count, 7)

    def test_scanner_click_and_prefetch_flagged(self):
        """A click seconds after delivery and a prefetch are stored as bots."""
        delivered = (self.now - timedelta(minutes=1, seconds=3)).isoformat() + "Z"
        self.ingest(
            [self._event("email_click", properties={"delivered_at": delivered})],
        )
        self.ingest([self._event()], headers={"Sec-Purpose": "prefetch"})
        reasons = sorted(self.site_events().mapped("bot_reason"))
        self.assertEqual(
            reasons, ["clicked 3 s after delivery", "sec-purpose prefetch"]
        )

    def test_blacklisted_and_do_not_track_dropped(self):
        """Blacklisted and do-not-track people are not tracked, silently."""
        self.env["mail.blacklist"]._add("blocked@example.com")
        self.lead.prm_do_not_track = True
        report = self.ingest(
            [
                self._event(email="blocked@example.com"),
                self._event("identify", email="BLOCKED@example.com", visitor="v-b"),
                self._event(email="prospect@example.com"),
                self._event(email="fine@example.com"),
            ]
        )
        self.assertEqual(report, {"accepted": 4, "duplicates": 0, "rejected": []})
        self.assertEqual(len(self.site_events()), 1)
        self.assertFalse(
            self.env["crm.lead"].search(
                [("email_normalized", "=", "blocked@example.com")]
            )
        )

    def test_visitor_of_do_not_track_person_dropped(self):
        """Once a visitor belongs to a do-not-track person, its events are dropped."""
        self.ingest(
            [self._event("identify", visitor="v-dnt", email="prospect@example.com")]
        )
        self.lead.prm_do_not_track = True
        report = self.ingest([self._event(visitor="v-dnt")])
        self.assertEqual(report["accepted"], 1)
        self.assertEqual(len(self.site_events()), 1)

    def test_failing_queue_row_is_kept_apart(self):
        """A queue row that cannot be applied keeps its error and is skipped;
        the others are applied; Retry applies it once the cause is gone."""
        Queue = type(self.env["prm.person.queue"])
        real = Queue._create_leads

        def failing(queue, rows, events):
            if any(r[5] == "boom@example.com" for r in rows):
                raise ValueError("broken for the test")
            return real(queue, rows, events)

        with (
            patch.object(Queue, "_create_leads", failing),
            mute_logger("odoo.addons.prm_tracking.models.prm_person_queue"),
        ):
            self.ingest(
                [
                    self._event("identify", email="boom@example.com"),
                    self._event("identify", email="fine@example.com"),
                ]
            )
            self.apply_queue()  # a second run skips the failed row
        Lead = self.env["crm.lead"]
        self.assertTrue(Lead.search([("email_normalized", "=", "fine@example.com")]))
        self.assertFalse(Lead.search([("email_normalized", "=", "boom@example.com")]))
        failed = self.env["prm.person.queue"].search([("error", "!=", False)])
        self.assertEqual(failed.email, "boom@example.com")
        self.assertIn("broken for the test", failed.error)
        failed.action_retry()
        self.apply_queue()
        self.assertTrue(Lead.search([("email_normalized", "=", "boom@example.com")]))
        self.assertFalse(self.env["prm.person.queue"].search([]))

    def test_visitor_span(self):
        """Visitor first/last seen follow its hits per 30-minute session, kept
        by the queue's job (requests never write an existing visitor)."""
        noon = datetime(2026, 6, 15, 12, 0, 0)
        with freeze_time(noon + timedelta(hours=3)):
            self.ingest([self._event(visitor="v-span", at=noon)])
            visitor = self.env["prm.visitor"].search([("token", "=", "v-span")])
            self.ingest([self._event(visitor="v-span", at=noon + timedelta(minutes=5))])
            self.assertEqual(visitor.last_seen, noon)  # same session: row untouched
            self.ingest(
                [self._event(visitor="v-span", at=noon + timedelta(hours=1))],
                apply=False,
            )
            self.assertEqual(visitor.last_seen, noon)  # the request leaves the row
            self.apply_queue()
            self.assertEqual(visitor.last_seen, noon + timedelta(hours=1))
            self.ingest(
                [
                    self._event(visitor="v-span", at=noon - timedelta(days=1)),
                    self._event(visitor="v-other", at=noon),
                ]
            )
            self.assertEqual(visitor.first_seen, noon - timedelta(days=1))
            self.assertEqual(
                len(self.site_events().filtered(lambda e: e.visitor_id == visitor)), 4
            )
