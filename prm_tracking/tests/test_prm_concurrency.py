# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import threading
import uuid
from unittest.mock import patch

from psycopg2 import Error as PsycopgError
from psycopg2 import errorcodes
from psycopg2.pool import PoolError

from odoo import SUPERUSER_ID, api, sql_db
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, tagged
from odoo.tests.common import get_db_name
from odoo.tools import mute_logger

RETRYABLE = {errorcodes.SERIALIZATION_FAILURE, errorcodes.DEADLOCK_DETECTED}


@tagged("post_install", "-at_install", "prm_tracking")
class TestPrmConcurrency(BaseCase):
    """Real concurrency: separate committed transactions, as two HTTP workers.

    The data is committed (a test transaction cannot race with itself), and
    removed again at the end whatever happens.
    """

    def setUp(self):
        super().setUp()
        self.dbname = get_db_name()
        # the test runner holds Registry._lock: threads must not call
        # Registry(dbname) themselves, they get the loaded registry instead
        self.registry_obj = Registry(self.dbname)
        self.tag = uuid.uuid4().hex[:10]
        with self._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.site_id = (
                env["prm.tracking.site"].create({"name": f"race {self.tag}"}).id
            )
        self.addCleanup(self._cleanup)

    def _cursor(self):
        cr = sql_db.db_connect(self.dbname).cursor()
        cr.transaction = api.Transaction(self.registry_obj)
        return cr

    def _cleanup(self):
        with self._cursor() as cr:
            cr.execute("DELETE FROM prm_event WHERE site_id = %s", (self.site_id,))
            cr.execute("DELETE FROM prm_person_queue")
            cr.execute(
                "SELECT id FROM crm_lead WHERE email_normalized LIKE %s",
                (f"race-{self.tag}%",),
            )
            lead_ids = [row[0] for row in cr.fetchall()]
            if lead_ids:
                cr.execute(
                    "DELETE FROM mail_message WHERE model = 'crm.lead' "
                    "AND res_id = ANY(%s)",
                    (lead_ids,),
                )
                cr.execute(
                    "DELETE FROM mail_followers WHERE res_model = 'crm.lead' "
                    "AND res_id = ANY(%s)",
                    (lead_ids,),
                )
                cr.execute("DELETE FROM crm_lead WHERE id = ANY(%s)", (lead_ids,))
            cr.execute("DELETE FROM prm_tracking_site WHERE id = %s", (self.site_id,))

    def _ingest_in_own_transaction(self, batch, barrier, reports, tries=None):
        barrier.wait()
        for attempt in range(1, 11):  # what Odoo's request retrying does (5)
            try:
                with self._cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    site = env["prm.tracking.site"].browse(self.site_id)
                    reports.append(env["prm.ingest"]._ingest(batch, site=site))
                if tries is not None:
                    tries.append(attempt)
                return
            except PsycopgError as exc:
                if exc.pgcode not in RETRYABLE:
                    raise

    def _run_clients(self, batches, tries=None):
        barrier = threading.Barrier(len(batches))
        reports = []
        threads = [
            threading.Thread(
                target=self._ingest_in_own_transaction,
                args=(batch, barrier, reports, tries),
            )
            for batch in batches
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        return reports

    def _apply_queue(self):
        with self._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["prm.person.queue"]._cron_apply()

    # the retried serialization failure logs a bad query
    @mute_logger("odoo.sql_db")
    def test_two_identical_batches_at_once(self):
        """Two identical batches racing store every event exactly once."""
        batch = [
            {
                "id": f"{self.tag}-{i}",
                "type": "page_view",
                "visitor": f"v-{self.tag}-{i % 7}",
            }
            for i in range(200)
        ] + [
            {
                "id": f"{self.tag}-id",
                "type": "identify",
                "visitor": f"v-{self.tag}-0",
                "email": f"race-{self.tag}@example.com",
            }
        ]
        reports = self._run_clients([batch, batch])
        self._apply_queue()
        self.assertEqual(len(reports), 2)
        self.assertEqual(sorted(r["accepted"] for r in reports), [0, len(batch)])
        self.assertEqual(sorted(r["duplicates"] for r in reports), [0, len(batch)])
        with self._cursor() as cr:
            cr.execute(
                "SELECT count(*), count(DISTINCT external_id) FROM prm_event "
                "WHERE site_id = %s",
                (self.site_id,),
            )
            self.assertEqual(cr.fetchone(), (len(batch), len(batch)))
            cr.execute(
                "SELECT count(*) FROM crm_lead WHERE email_normalized = %s",
                (f"race-{self.tag}@example.com",),
            )
            self.assertEqual(cr.fetchone()[0], 1)

    def test_new_visitor_not_held_by_an_open_request(self):
        """A request bringing a new visitor that another request, still
        running, has just stored never waits for that request's end."""
        token = f"v-{self.tag}-shared"
        first = self._cursor()
        try:
            env = api.Environment(first, SUPERUSER_ID, {})
            env["prm.ingest"]._read_committed()
            env["prm.ingest"]._ingest(
                [{"id": f"{self.tag}-1", "type": "page_view", "visitor": token}],
                site=env["prm.tracking.site"].browse(self.site_id),
            )
            # the first request's transaction stays open meanwhile
            with self._cursor() as cr:
                other = api.Environment(cr, SUPERUSER_ID, {})
                other["prm.ingest"]._read_committed()
                cr.execute("SET LOCAL lock_timeout = '2s'")
                report = other["prm.ingest"]._ingest(
                    [{"id": f"{self.tag}-2", "type": "page_view", "visitor": token}],
                    site=other["prm.tracking.site"].browse(self.site_id),
                )
            self.assertEqual(report["accepted"], 1)
            first.commit()
        finally:
            first.close()
        with self._cursor() as cr:
            cr.execute(
                "SELECT count(DISTINCT visitor_id), count(*) FROM prm_event "
                "WHERE site_id = %s",
                (self.site_id,),
            )
            self.assertEqual(cr.fetchone(), (1, 2))

    def test_new_visitors_without_a_spare_connection(self):
        """Without a connection to spare, a request stores its new visitors
        in its own transaction, and its events on them."""
        token = f"v-{self.tag}-alone"
        with self._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["prm.ingest"]._read_committed()
            full = PoolError("The Connection Pool Is Full")
            with patch.object(Registry, "cursor", side_effect=full) as spare:
                report = env["prm.ingest"]._ingest(
                    [{"id": f"{self.tag}-1", "type": "page_view", "visitor": token}],
                    site=env["prm.tracking.site"].browse(self.site_id),
                )
            self.assertEqual(spare.call_count, 1)
        self.assertEqual(report["accepted"], 1)
        with self._cursor() as cr:
            cr.execute(
                "SELECT v.token FROM prm_event e "
                "JOIN prm_visitor v ON v.id = e.visitor_id WHERE e.site_id = %s",
                (self.site_id,),
            )
            self.assertEqual(cr.fetchall(), [(token,)])

    @mute_logger("odoo.sql_db")
    def test_four_clients_sharing_persons(self):
        """Four clients sharing persons: no failed request, each event stored
        once, one lead per new email, metrics equal to the events."""
        with self._cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            known = env["crm.lead"].create(
                {"name": "known", "email_from": f"race-{self.tag}-known@example.com"}
            )
            known_id = known.id
        new_emails = [f"race-{self.tag}-new{i}@example.com" for i in range(40)]
        batches = []
        for client in range(4):
            batch = []
            for i, email in enumerate(new_emails):
                # every client identifies every new person, from its own browser
                batch.append(
                    {
                        "id": f"{self.tag}-c{client}-id{i}",
                        "type": "identify",
                        "visitor": f"v-{self.tag}-c{client}-{i}",
                        "email": email,
                    }
                )
                batch.append(
                    {
                        "id": f"{self.tag}-c{client}-pv{i}",
                        "type": "page_view",
                        "email": email,
                    }
                )
            for i in range(60):
                batch.append(
                    {
                        "id": f"{self.tag}-c{client}-k{i}",
                        "type": "email_open",
                        "email": f"race-{self.tag}-known@example.com",
                    }
                )
            # the same 20 events sent by every client: stored once
            batch += [
                {"id": f"{self.tag}-shared-{i}", "type": "download"} for i in range(20)
            ]
            batches.append(batch)
        tries = []
        reports = self._run_clients(batches, tries)
        self.assertEqual(len(reports), 4)
        # every request made it within Odoo's own retries (5), none failed
        self.assertLessEqual(max(tries), 5, tries)
        self._apply_queue()
        sent = {event["id"] for batch in batches for event in batch}
        self.assertEqual(sum(r["accepted"] for r in reports), len(sent))
        with self._cursor() as cr:
            cr.execute(
                "SELECT count(*), count(DISTINCT external_id) FROM prm_event "
                "WHERE site_id = %s",
                (self.site_id,),
            )
            self.assertEqual(cr.fetchone(), (len(sent), len(sent)))
            cr.execute(
                "SELECT email_normalized, count(*) FROM crm_lead "
                "WHERE email_normalized = ANY(%s) GROUP BY 1",
                (new_emails,),
            )
            self.assertEqual(dict(cr.fetchall()), dict.fromkeys(new_emails, 1))
            # every identify and page view of a new person reached its lead
            cr.execute(
                "SELECT count(*) FROM prm_event e JOIN crm_lead l ON l.id = e.lead_id "
                "WHERE e.site_id = %s AND l.email_normalized = ANY(%s)",
                (self.site_id, new_emails),
            )
            self.assertEqual(cr.fetchone()[0], 4 * 2 * len(new_emails))
            cr.execute(
                "SELECT prm_event_count, prm_email_opens FROM crm_lead WHERE id = %s",
                (known_id,),
            )
            self.assertEqual(cr.fetchone(), (240, 240))
            cr.execute("SELECT count(*) FROM prm_person_queue")
            self.assertEqual(cr.fetchone()[0], 0)
