# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, tagged

from .common import PrmIngestCommon


@tagged("post_install", "-at_install", "prm_tracking")
class TestPrmPrivacy(PrmIngestCommon):
    def _old_events(self, lead, days, count):
        Event = self.env["prm.event"]
        return Event.create(
            [
                {
                    "event_type_id": self.page_view.id,
                    "lead_id": lead.id,
                    "occurred_at": self.now - timedelta(days=days),
                }
                for _i in range(count)
            ]
        )

    def test_retention_purge(self):
        """The purge deletes events past retention, in batches, fixing metrics."""
        self.env["ir.config_parameter"].set_param("prm_tracking.retention_days", 30)
        old = self._old_events(self.lead, 40, 3)
        recent = self._old_events(self.lead, 5, 2)
        self.assertEqual(self.lead.prm_event_count, 5)
        self.env["prm.retention"]._cron_purge_expired(batch_size=2)
        self.assertEqual(len(old.exists()), 1)
        self.env["prm.retention"]._cron_purge_expired(batch_size=2)
        self.assertFalse(old.exists())
        self.assertEqual(recent.exists(), recent)
        self.apply_queue()
        self.assertEqual(self.lead.prm_event_count, 2)

    def test_purge_plans_for_the_queue_as_it_is(self):
        """A purge batch looks the queue rows of its events up by index even
        when the connection first deleted events beside an empty queue."""
        self.env["ir.config_parameter"].set_param("prm_tracking.retention_days", 30)
        self._old_events(self.lead, 40, 60)
        Retention, cr = self.env["prm.retention"], self.env.cr
        # an empty queue, as VACUUM leaves it once drained: no page, and
        # statistics saying so
        cr.execute("TRUNCATE prm_person_queue")
        cr.execute("ANALYZE prm_person_queue")
        # deleting events beside the empty queue: the foreign key's query
        # is planned (and its plan kept by the connection) for that queue
        Retention._cron_purge_expired(batch_size=20)
        # the queue grows (persons to apply, no event of theirs)
        cr.execute(
            "INSERT INTO prm_person_queue (lead_id, company_id) "
            "SELECT %s, %s FROM generate_series(1, 5000)",
            [self.lead.id, self.company.id],
        )
        scans = (
            "SELECT seq_scan FROM pg_stat_xact_user_tables "
            "WHERE relname = 'prm_person_queue'"
        )
        cr.execute(scans)
        before = cr.fetchone()[0]
        Retention._cron_purge_expired(batch_size=20)
        cr.execute(scans)
        # the plan kept from the first batch read the whole queue once per
        # deleted event (20 scans)
        self.assertEqual(cr.fetchone()[0] - before, 0)
        cr.execute("SELECT count(*) FROM prm_event WHERE lead_id = %s", [self.lead.id])
        self.assertEqual(cr.fetchone()[0], 20)

    def test_retention_default_when_unset(self):
        """Without the setting ever saved, events are kept 730 days, not forever."""
        self.env["ir.config_parameter"].search(
            [("key", "=", "prm_tracking.retention_days")]
        ).unlink()
        self.assertEqual(self.env["prm.retention"]._retention_days(), 730)

    def test_purge_keeps_visitors_stored_lately(self):
        """The purge deletes visitors without events seen and stored before
        the cutoff, not one just stored whose events are still on their way."""
        self.env["ir.config_parameter"].set_param("prm_tracking.retention_days", 30)
        long_ago = self.now - timedelta(days=40)
        stale, fresh = self.env["prm.visitor"].create(
            [
                {"site_id": self.site.id, "token": token, "first_seen": long_ago,
                 "last_seen": long_ago}
                for token in ("v-stale", "v-fresh")
            ]
        )  # fmt: skip
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE prm_visitor SET create_date = %s WHERE id = %s",
            [long_ago, stale.id],
        )
        self.env["prm.retention"]._cron_purge_expired()
        self.assertFalse(stale.exists())
        self.assertTrue(fresh.exists())

    def test_retention_zero_keeps_everything(self):
        """A retention of 0 days keeps every event."""
        self.env["ir.config_parameter"].set_param("prm_tracking.retention_days", 0)
        old = self._old_events(self.lead, 4000, 1)
        self.env["prm.retention"]._cron_purge_expired()
        self.assertTrue(old.exists())

    def test_forget_lead(self):
        """'Forget' erases events and queued hits, blocks person and browsers."""
        self.ingest(
            [self._event("identify", visitor="v-forget", email="prospect@example.com")]
        )
        self.ingest([self._event(visitor="v-forget")])
        self._old_events(self.lead, 1, 2)
        self.assertEqual(self.lead.prm_event_count, 4)
        hit = {"id": "px-f", "type": "page_view", "visitor": "v-forget"}
        self.env["prm.pixel.hit"]._enqueue(
            self.site.id, self.site.company_id.id, hit, "GET", None, self.now
        )
        self.lead.with_user(self.sales_manager).action_prm_forget()
        self.assertFalse(
            self.env["prm.pixel.hit"].search([("site_id", "=", self.site.id)])
        )
        self.assertEqual(self.lead.prm_event_count, 0)
        self.assertFalse(self.env["prm.event"].search([("lead_id", "=", self.lead.id)]))
        visitor = self.env["prm.visitor"].search([("token", "=", "v-forget")])
        self.assertEqual(
            (visitor.lead_id, visitor.do_not_track), (self.env["crm.lead"], True)
        )
        self.assertTrue(self.lead.prm_do_not_track)
        self.assertIn("erased", self.lead.message_ids[0].body)
        self.assertTrue(self.lead.exists())
        # the same browser, or the same person identifying again, is not tracked
        report = self.ingest(
            [
                self._event(visitor="v-forget"),
                self._event("identify", visitor="v-new", email="prospect@example.com"),
            ]
        )
        self.assertEqual(report["accepted"], 2)  # the answer tells nothing
        self.assertFalse(
            self.env["prm.event"].search([("visitor_id", "=", visitor.id)])
        )
        self.assertEqual(self.lead.prm_event_count, 0)

    def test_forget_partner_and_its_leads(self):
        """Forgetting a contact erases its events and those of its leads."""
        partner = self.env["res.partner"].create(
            {"name": "Forget Me", "email": "fm@example.com"}
        )
        lead = self.env["crm.lead"].create(
            {"name": "FM lead", "partner_id": partner.id}
        )
        self._old_events(lead, 1, 2)
        self.env["prm.event"].create(
            {"event_type_id": self.page_view.id, "partner_id": partner.id}
        )
        partner.with_user(self.sales_manager).action_prm_forget()
        self.assertFalse(
            self.env["prm.event"].search(
                ["|", ("partner_id", "=", partner.id), ("lead_id", "=", lead.id)]
            )
        )
        self.assertEqual((partner.prm_event_count, lead.prm_event_count), (0, 0))

    def test_forget_erases_claims_of_the_email(self):
        """Forget also erases anonymous events and visitor claims that only
        carry the person's email, and what is queued for it."""
        self.ingest(
            [
                self._event(
                    "email_click", visitor="v-claim", email="prospect@example.com"
                )
            ],
            origin="browser",
            apply=False,
        )
        self.assertTrue(self.env["prm.person.queue"].search([("email", "!=", False)]))
        self.apply_queue()
        visitor = self.env["prm.visitor"].search([("token", "=", "v-claim")])
        self.assertEqual(visitor.claimed_email, "prospect@example.com")
        self.lead.with_user(self.sales_manager).action_prm_forget()
        self.assertFalse(visitor.event_ids)
        self.assertFalse(visitor.claimed_email)

    def test_merge_keeps_do_not_track(self):
        """Merging a forgotten lead into another keeps the person untracked."""
        other = self.env["crm.lead"].create(
            {"name": "Other", "email_from": "prospect@example.com"}
        )
        self.lead.with_user(self.sales_manager).action_prm_forget()
        survivor = (self.lead | other)._merge_opportunity(auto_unlink=True)
        self.assertTrue(survivor.prm_do_not_track)

    def test_forget_partner_stays_in_the_users_companies(self):
        """Forgetting a contact erases its leads' events only in the companies
        the user works in."""
        partner = self.env["res.partner"].create(
            {"name": "Two Companies", "email": "two@example.com"}
        )
        here = self.env["crm.lead"].create({"name": "Here", "partner_id": partner.id})
        there = self.env["crm.lead"].create(
            {"name": "There", "partner_id": partner.id, "company_id": self.company_2.id}
        )
        self._old_events(here, 1, 1)
        self._old_events(there, 1, 1)
        partner.with_user(self.sales_manager).with_context(
            allowed_company_ids=[self.company.id]
        ).action_prm_forget()
        self.assertEqual((here.prm_event_count, there.prm_event_count), (0, 1))

    def test_forget_needs_manager(self):
        """A salesperson cannot erase engagement."""
        self._old_events(self.lead, 1, 1)
        with self.assertRaises(AccessError):
            self.lead.with_user(self.salesman).action_prm_forget()
        self.assertEqual(self.lead.prm_event_count, 1)

    def test_orm_create_updates_metrics(self):
        """Events created through the ORM (manual, import) update the metrics too."""
        event = self._old_events(self.lead, 0, 1)
        self.assertEqual(self.lead.prm_event_count, 1)
        event.lead_id = self.lead_2
        self.assertEqual(
            (self.lead.prm_event_count, self.lead_2.prm_event_count), (0, 1)
        )
        event.unlink()
        self.assertEqual(self.lead_2.prm_event_count, 0)

    def test_completed_call_becomes_event(self):
        """Marking a call activity done on a lead records a call event on it."""
        call_type = self.env.ref("mail.mail_activity_data_call")
        activity = self.lead.activity_schedule(
            activity_type_id=call_type.id,
            summary="Discovery call",
            user_id=self.salesman.id,
        )
        activity.with_user(self.salesman).action_feedback(feedback="Went well")
        self.apply_queue()
        event = self.env["prm.event"].search([("lead_id", "=", self.lead.id)])
        self.assertEqual(event.event_code, "call")
        self.assertEqual((event.origin, event.title), ("activity", "Discovery call"))
        self.assertEqual(self.lead.prm_event_count, 1)
        todo = self.lead.activity_schedule("mail.mail_activity_data_todo")
        todo.action_feedback()
        self.apply_queue()
        self.assertEqual(self.lead.prm_event_count, 1)

    def test_csv_import(self):
        """Events import from CSV with Odoo's standard import, marked as imported."""
        csv = (
            "event_type_id,lead_id,occurred_at,url,external_id\n"
            "Page view,PRM lead,2026-01-05 10:00:00,https://www.example.com/a,imp-1\n"
            "Email open,PRM lead,2026-01-06 10:00:00,,imp-2\n"
        )
        wizard = self.env["base_import.import"].create(
            {"res_model": "prm.event", "file": csv.encode(), "file_type": "text/csv"}
        )
        result = wizard.execute_import(
            ["event_type_id", "lead_id", "occurred_at", "url", "external_id"],
            ["event_type_id", "lead_id", "occurred_at", "url", "external_id"],
            {
                "quoting": '"',
                "separator": ",",
                "has_headers": True,
                "date_format": "%Y-%m-%d",
                "datetime_format": "%Y-%m-%d %H:%M:%S",
            },
        )
        self.assertFalse(result["messages"], result["messages"])
        events = self.env["prm.event"].search(
            [("external_id", "in", ["imp-1", "imp-2"])]
        )
        self.assertEqual(len(events), 2)
        self.assertEqual(set(events.mapped("origin")), {"import"})
        self.assertEqual(self.lead.prm_event_count, 2)
        self.assertEqual(self.lead.prm_email_opens, 1)

    def test_secret_key_hashed_shown_once_and_rotated(self):
        """A secret key is shown once, stored hashed; rotation revokes it."""
        Site = self.env["prm.tracking.site"]
        first = self.site.action_generate_secret_key()["prm_secret_key"]
        self.assertEqual(Site._authenticate_secret(first), self.site)
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT count(*) FROM prm_tracking_site WHERE secret_key_hash = %s "
            "OR secret_key_hint = %s",
            (first, first),
        )
        self.assertEqual(self.env.cr.fetchone()[0], 0)
        self.assertTrue(self.site.secret_key_hint.endswith(first[-4:]))
        second = self.site.action_generate_secret_key()["prm_secret_key"]
        self.assertNotEqual(first, second)
        self.assertFalse(Site._authenticate_secret(first))
        self.assertEqual(Site._authenticate_secret(second), self.site)
        self.assertFalse(Site._authenticate_secret("prm_sk_guess"))
        self.assertFalse(Site._authenticate_secret(None))

    def test_origins(self):
        """Allowed origins match scheme and host exactly, or any subdomain with '*.'."""
        site = self.site
        self.assertTrue(site._origin_allowed("https://www.example.com"))
        self.assertTrue(site._origin_allowed("https://www.example.com:443"))
        self.assertFalse(site._origin_allowed("http://www.example.com"))
        self.assertFalse(site._origin_allowed("https://evil-example.com"))
        self.assertFalse(site._origin_allowed("https://www.example.com.evil.net"))
        self.assertTrue(site._origin_allowed("https://shop.example.org"))
        self.assertTrue(site._origin_allowed("https://example.org"))
        self.assertFalse(site._origin_allowed("https://example.org.evil.net"))
        self.assertFalse(site._origin_allowed(None))
        with self.assertRaises(ValidationError):
            site.allowed_origins = "www.example.com/path"

    def test_site_form_snippet(self):
        """The site form shows a snippet with the site's public key."""
        with Form(self.env["prm.tracking.site"]) as form:
            form.name = "Form site"
            form.require_consent = True
        site = form.save()
        self.assertTrue(site.public_key.startswith("prm_pk_"))
        self.assertIn(site.public_key, site.snippet)
        self.assertIn("consent: 'required'", site.snippet)
