# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

from ..hooks import uninstall_hook


@tagged("post_install", "-at_install", "prm_tracking")
class TestPrmIndexes(TransactionCase):
    """The indexes the ingestion's lookups need at millions of rows."""

    def _plan(self, query):
        # no sequential scan, and no bitmap scan (the only way a trigram
        # index answers): what is left is a b-tree index, if there is one.
        # Joins are nested loops, each email looked up in the index: on the
        # few rows of a test database the planner may otherwise hash the
        # whole table, which the partial index cannot serve (seen once in CI)
        self.env.cr.execute("SET LOCAL enable_seqscan = off")
        self.env.cr.execute("SET LOCAL enable_bitmapscan = off")
        self.env.cr.execute("SET LOCAL enable_hashjoin = off")
        self.env.cr.execute("SET LOCAL enable_mergejoin = off")
        self.env.cr.execute(SQL("EXPLAIN %s", query))
        return "\n".join(row[0] for row in self.env.cr.fetchall())

    def test_email_lookup_uses_btree(self):
        """A b-tree index serves the lookup of persons by normalized email
        (Odoo's trigram index took seconds per batch on large tables)."""
        emails = [f"person{i}@example.com" for i in range(300)]
        for table in ("crm_lead", "res_partner"):
            with self.subTest(table=table):
                # the shape of the ingestion's lookups (_find_persons)
                plan = self._plan(
                    SQL(
                        "SELECT p.id FROM unnest(%s::varchar[]) AS e(email) "
                        "JOIN %s p ON p.email_normalized = e.email",
                        emails,
                        SQL.identifier(table),
                    )
                )
                self.assertIn(f"{table}_prm_email_normalized_btree", plan)

    def test_queue_rows_found_by_event(self):
        """Deleting events finds their person-queue rows through an index."""
        plan = self._plan(SQL("SELECT id FROM prm_person_queue WHERE event_id = 1"))
        self.assertIn("prm_person_queue__event_id_index", plan)

    def test_uninstall_drops_email_indexes(self):
        """Uninstalling drops the indexes prm_tracking added to Odoo's tables."""
        uninstall_hook(self.env)
        self.env.cr.execute(
            "SELECT count(*) FROM pg_indexes WHERE indexname LIKE %s",
            ["%_prm_email_normalized_btree"],
        )
        self.assertEqual(self.env.cr.fetchone()[0], 0)
