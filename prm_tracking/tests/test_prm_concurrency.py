# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import threading
import uuid

from psycopg2 import Error as PsycopgError
from psycopg2 import errorcodes

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

    def _ingest_in_own_transaction(self, batch, barrier, reports):
        barrier.wait()
        for _attempt in range(10):  # what Odoo's request retrying does
            try:
                with self._cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    site = env["prm.tracking.site"].browse(self.site_id)
                    reports.append(env["prm.event"]._ingest(batch, site=site))
                return
            except PsycopgError as exc:
                if exc.pgcode not in RETRYABLE:
                    raise

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
        barrier = threading.Barrier(2)
        reports = []
        threads = [
            threading.Thread(
                target=self._ingest_in_own_transaction, args=(batch, barrier, reports)
            )
            for _i in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
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
