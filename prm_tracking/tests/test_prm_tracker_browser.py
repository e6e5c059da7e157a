# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import HttpCase, new_test_user, tagged

LOADER = """
    const base = window.location.origin;
    window.prm = window.prm || function () {
        (window.prm.q = window.prm.q || []).push(arguments);
    };
    window.prmSent = [];
    const beacon = navigator.sendBeacon.bind(navigator);
    navigator.sendBeacon = (url, body) => {
        window.prmSent.push(url);
        return beacon(url, body);
    };
    const load = (then) => {
        const script = document.createElement('script');
        script.src = base + '/prm/tracker.js';
        script.onload = then;
        document.head.appendChild(script);
    };
    const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
"""


@tagged("post_install", "-at_install", "prm_tracking")
class TestPrmTrackerBrowser(HttpCase):
    """The snippet in a real (headless Chromium) browser."""

    def setUp(self):
        super().setUp()
        self.site = self.env["prm.tracking.site"].create(
            {"name": "Browser site", "allowed_origins": self.base_url()}
        )

    def _events(self):
        return self.env["prm.event"].search([("site_id", "=", self.site.id)])

    def test_snippet_tracks_and_identifies(self):
        """Page view, identify and track from the snippet land on one new lead."""
        code = (
            LOADER
            + f"""
            prm('init', '{self.site.public_key}', base);
            prm('page');
            prm('identify', {{email: 'browser.person@example.com',
                             profile: {{country: 'BE', company_size: '11-50'}}}});
            prm('track', 'download', {{url: base + '/guide.pdf'}});
            load(async () => {{
                await wait(1500);
                if (!document.cookie.includes('_prm_vid=')) {{
                    console.error('no visitor cookie');
                }}
                console.log('test successful');
            }});
        """
        )
        self.browser_js("/web/login", code, timeout=60)
        self.env["prm.person.queue"]._cron_apply()
        events = self._events()
        self.assertEqual(
            sorted(events.mapped("event_code")), ["download", "identify", "page_view"]
        )
        self.assertEqual(len(events.visitor_id), 1)
        lead = self.env["crm.lead"].search(
            [("email_normalized", "=", "browser.person@example.com")]
        )
        self.assertEqual(events.lead_id, lead)
        self.assertEqual(lead.prm_company_size, "11_50")
        # an unsigned sign-up: anyone could have typed the address
        self.assertFalse(lead.prm_identity_verified)
        self.assertEqual(set(events.mapped("origin")), {"browser"})
        page = events.filtered(lambda e: e.event_code == "page_view")
        self.assertIn("/web/login", page.url)

    def test_snippet_honours_global_privacy_control(self):
        """With Global Privacy Control on, nothing is sent and no cookie is set."""
        code = (
            LOADER
            + f"""
            Object.defineProperty(navigator, 'globalPrivacyControl', {{value: true}});
            prm('init', '{self.site.public_key}', base);
            prm('page');
            load(async () => {{
                await wait(1000);
                if (window.prmSent.length || document.cookie.includes('_prm_vid=')) {{
                    console.error('tracked despite GPC');
                }}
                console.log('test successful');
            }});
        """
        )
        self.browser_js("/web/login", code, timeout=60)
        self.assertFalse(self._events())

    def test_snippet_waits_for_consent(self):
        """When the site requires consent, nothing leaves the page before it."""
        self.site.require_consent = True
        code = (
            LOADER
            + f"""
            prm('init', '{self.site.public_key}', base, {{consent: 'required'}});
            prm('page');
            load(async () => {{
                await wait(800);
                if (window.prmSent.length || document.cookie.includes('_prm_vid=')) {{
                    console.error('sent before consent');
                }}
                prm('consent', true);
                await wait(1500);
                if (window.prmSent.length !== 1) {{
                    console.error('not sent after consent');
                }}
                console.log('test successful');
            }});
        """
        )
        self.browser_js("/web/login", code, timeout=60)
        self.assertEqual(self._events().mapped("event_code"), ["page_view"])

    def test_site_form_shows_the_snippet_as_code(self):
        """The site's form shows the snippet as code, line by line, with a
        copy button."""
        self.start_tour(
            f"/odoo/action-prm_tracking.prm_tracking_site_action/{self.site.id}",
            "prm_tracking_snippet_tour",
            login="admin",
        )

    def test_engagement_report_on_screen(self):
        """The Engagement menu draws its graph and pivot; a salesperson's pivot
        counts their lead's events and not another salesperson's."""
        salesman = new_test_user(
            self.env, login="prm_tour_sales", groups="sales_team.group_sale_salesman"
        )
        other = new_test_user(
            self.env, login="prm_tour_other", groups="sales_team.group_sale_salesman"
        )
        Lead = self.env["crm.lead"]
        own = Lead.create({"name": "Tour own", "user_id": salesman.id})
        theirs = Lead.create({"name": "Tour theirs", "user_id": other.id})
        self.env["prm.event"].create(
            [
                {
                    "event_type_id": self.env.ref(
                        "prm_tracking.prm_event_type_page_view"
                    ).id,
                    "lead_id": own.id,
                    "origin": "import",
                },
                {
                    "event_type_id": self.env.ref(
                        "prm_tracking.prm_event_type_email_open"
                    ).id,
                    "lead_id": theirs.id,
                    "origin": "import",
                },
            ]
        )
        url = "/odoo/action-prm_tracking.prm_engagement_report_action"
        self.start_tour(url, "prm_engagement_report_manager_tour", login="admin")
        self.start_tour(
            url, "prm_engagement_report_salesman_tour", login=salesman.login
        )
