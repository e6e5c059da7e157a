# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Verified identities: the public channels reach a known person only with
the site's signature; unsigned sign-ups make unverified leads."""

import json
import re

from odoo.tests import Form, HttpCase, tagged
from odoo.tools import mute_logger

from ..engine.keys import sign_identity
from .common import PrmIngestCommon

COLLECT = "/prm/api/v1/collect"
ORIGIN = "https://www.example.com"


@tagged("post_install", "-at_install", "prm_tracking")
class TestPrmIdentity(HttpCase, PrmIngestCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.secret = cls.site.action_generate_secret_key()["prm_secret_key"]

    def collect(self, events, site=None):
        response = self.url_open(
            COLLECT,
            data=json.dumps(
                {"public_key": (site or self.site).public_key, "events": events}
            ),
            headers={
                "Content-Type": "text/plain",
                "Origin": ORIGIN,
                "User-Agent": "Mozilla/5.0 Firefox/130",
            },
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.apply_queue()
        return response.json()

    def test_forged_clicks_do_not_reach_a_known_lead(self):
        """Unsigned browser events naming a lead's email stay on the visitor
        (claimed email kept) and leave the lead's metrics alone."""
        email = "prospect@example.com"
        report = self.collect(
            [
                self._event("email_click", visitor="v-forger", email=email)
                for _i in range(30)
            ]
            + [self._event("identify", visitor="v-forger", email=email)]
        )
        self.assertEqual(report["accepted"], 31)
        self.assertEqual(self.lead.prm_event_count, 0)
        self.assertEqual(self.lead.prm_email_clicks, 0)
        visitor = self.env["prm.visitor"].search([("token", "=", "v-forger")])
        self.assertFalse(visitor.lead_id)
        self.assertEqual(visitor.claimed_email, email)
        self.assertEqual(len(visitor.event_ids), 31)
        self.assertEqual(visitor.event_ids[0].payload["email"], email)
        self.assertEqual(
            self.env["crm.lead"].search_count([("email_normalized", "=", email)]), 1
        )

    def test_signed_identity_reaches_the_lead(self):
        """With the site's HMAC signature, browser events reach the lead and its
        visitor is linked; a wrong signature changes nothing."""
        email = "prospect@example.com"
        wrong = sign_identity(self.secret, "other@example.com")
        self.collect(
            [self._event("identify", visitor="v-bad", email=email, signature=wrong)]
        )
        self.assertEqual(self.lead.prm_event_count, 0)
        signature = sign_identity(self.secret, email)
        self.collect(
            [
                self._event(
                    "identify", visitor="v-good", email=email, signature=signature
                ),
                self._event(
                    "email_click", email=email, visitor="v-good", signature=signature
                ),
            ]
        )
        self.assertEqual(self.lead.prm_event_count, 2)
        visitor = self.env["prm.visitor"].search([("token", "=", "v-good")])
        self.assertEqual(visitor.lead_id, self.lead)
        self.collect([self._event(visitor="v-good")])  # later visits follow
        self.assertEqual(self.lead.prm_event_count, 3)

    def test_unsigned_signup_makes_an_unverified_lead(self):
        """An unsigned sign-up of a new email creates one unverified lead; a
        later signed identify verifies it and says so."""
        email = "new.signup@example.com"
        self.collect(
            [
                self._event(visitor="v-new"),
                self._event("registration", visitor="v-new", email=email),
            ]
        )
        lead = self.env["crm.lead"].search([("email_normalized", "=", email)])
        self.assertEqual(len(lead), 1)
        self.assertFalse(lead.prm_identity_verified)
        self.assertEqual(lead.prm_event_count, 2)
        # another unsigned sign-up with the same address makes no second lead
        self.collect([self._event("registration", visitor="v-other", email=email)])
        self.assertEqual(
            self.env["crm.lead"].search_count([("email_normalized", "=", email)]), 1
        )
        self.assertEqual(lead.prm_event_count, 2)
        signature = sign_identity(self.secret, email)
        self.collect(
            [self._event("identify", visitor="v-new", email=email, signature=signature)]
        )
        self.assertTrue(lead.prm_identity_verified)
        self.assertIn("verified", lead.message_ids[0].body)

    def test_pre_registered_browser_loses_its_link(self):
        """An attacker's unsigned sign-up of someone's new address links only
        the attacker's browser; once the real person signs, that link is
        dropped and the attacker's events no longer reach the lead."""
        email = "victim@example.com"
        self.collect([self._event("registration", visitor="v-attacker", email=email)])
        lead = self.env["crm.lead"].search([("email_normalized", "=", email)])
        attacker = self.env["prm.visitor"].search([("token", "=", "v-attacker")])
        self.assertEqual(attacker.lead_id, lead)
        signature = sign_identity(self.secret, email)
        self.collect(
            [
                self._event(
                    "identify", visitor="v-victim", email=email, signature=signature
                ),
                # an unsigned identify of the same browser in the same batch
                self._event("identify", visitor="v-victim", email="x@example.com"),
            ]
        )
        self.assertTrue(lead.prm_identity_verified)
        self.assertFalse(attacker.lead_id)
        victim = self.env["prm.visitor"].search([("token", "=", "v-victim")])
        self.assertEqual((victim.lead_id, victim.link_verified), (lead, True))
        before = lead.prm_event_count
        self.collect([self._event("email_click", visitor="v-attacker")])
        self.assertEqual(lead.prm_event_count, before)

    @mute_logger("odoo.addons.prm_tracking.models.crm_lead")  # "not sent (cap)"
    def test_confirmation_mails_are_capped(self):
        """A double opt-in site mails at most its hourly cap of confirmations."""
        self.site.write(
            {"identity_verification": "double_opt_in", "confirmation_hourly_limit": 2}
        )
        self.collect(
            [
                self._event(
                    "registration", visitor=f"v-cap{i}", email=f"cap{i}@example.com"
                )
                for i in range(4)
            ]
        )
        leads = self.env["crm.lead"].search(
            [("email_normalized", "like", "cap%@example.com")]
        )
        self.assertEqual(len(leads), 4)
        self.assertEqual(len(leads.filtered("prm_confirmation_sent_at")), 2)
        self.assertEqual(
            self.env["mail.mail"].search_count(
                [("email_to", "like", "cap%@example.com")]
            ),
            2,
        )

    def test_salesperson_verifies(self):
        """A salesperson's 'Mark as verified' verifies an unverified lead."""
        lead = self.env["crm.lead"].create(
            {
                "name": "Unverified",
                "email_from": "u@example.com",
                "prm_identity_verified": False,
                "user_id": self.salesman.id,
            }
        )
        lead.with_user(self.salesman).action_prm_verify_identity()
        self.assertTrue(lead.prm_identity_verified)
        self.assertIn(self.salesman.name, lead.message_ids[0].body)

    def test_double_opt_in(self):
        """With double opt-in, an unsigned sign-up is mailed a link; its GET
        only asks, its POST verifies; a forged token does nothing."""
        self.site.identity_verification = "double_opt_in"
        email = "optin@example.com"
        self.collect([self._event("registration", visitor="v-optin", email=email)])
        lead = self.env["crm.lead"].search([("email_normalized", "=", email)])
        self.assertFalse(lead.prm_identity_verified)
        mail = self.env["mail.mail"].search([("email_to", "=", email)])
        self.assertEqual(len(mail), 1)
        url = re.search(r'href="[^"]*(/prm/confirm/[^"]+)"', mail.body_html).group(1)
        forged = url[:-4] + "0000"
        self.assertEqual(self.url_open(forged).status_code, 404)
        page = self.url_open(url)
        self.assertEqual(page.status_code, 200)
        self.assertFalse(lead.prm_identity_verified)  # a GET (a mail scanner) asks
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        done = self.url_open(url, data={"csrf_token": token})
        self.assertEqual(done.status_code, 200)
        self.assertIn("confirmed", done.text)
        lead.invalidate_recordset()
        self.assertTrue(lead.prm_identity_verified)

    def test_public_ids_have_their_own_namespace(self):
        """An id taken through the public channel does not block the same id
        sent later by the site's server."""
        self.collect([{"id": "order-1", "type": "page_view", "visitor": "v-ns"}])
        report = self.env["prm.ingest"]._ingest(
            [{"id": "order-1", "type": "form_submit"}], site=self.site
        )
        self.assertEqual(report["accepted"], 1)
        self.assertEqual(
            sorted(self.site_events().mapped("origin")), ["api", "browser"]
        )

    def test_merge_moves_engagement(self):
        """Odoo's merge wizard moves events and visitors of the merged leads to
        the lead that stays, and recomputes its metrics."""
        other = self.env["crm.lead"].create(
            {"name": "Duplicate", "email_from": "prospect@example.com"}
        )
        signature = sign_identity(self.secret, "prospect@example.com")
        self.collect(
            [
                self._event(
                    "identify",
                    visitor="v-m",
                    email="prospect@example.com",
                    signature=signature,
                ),
                self._event(visitor="v-m"),
            ]
        )
        on_other = self.env["prm.event"].search([("lead_id", "=", other.id)])
        self.assertEqual(len(on_other), 2)  # the newest lead of that email
        self.env["prm.event"].create(
            {"event_type_id": self.page_view.id, "lead_id": self.lead.id}
        )
        wizard = Form(
            self.env["crm.merge.opportunity"].with_context(
                active_model="crm.lead", active_ids=(self.lead | other).ids
            )
        ).save()
        survivor = wizard.action_merge()
        survivor = self.env["crm.lead"].browse(survivor["res_id"])
        self.assertEqual(len((self.lead | other).exists()), 1)
        self.assertEqual(survivor.prm_event_count, 3)
        self.assertEqual(on_other.lead_id, survivor)
        visitor = self.env["prm.visitor"].search([("token", "=", "v-m")])
        self.assertEqual(visitor.lead_id, survivor)
