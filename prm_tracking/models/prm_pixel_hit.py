# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
import logging
from collections import defaultdict

from psycopg2 import Error as PsycopgError

from odoo import api, fields, models
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY
from odoo.tools import SQL

from .prm_event import commit_cron_batch

_logger = logging.getLogger(__name__)

FLUSH_BATCH = 5000
# the pixel wakes the flush job up every this many queued hits, so that a
# burst drains in batches before the job's next scheduled run
TRIGGER_EVERY = 1000


class PrmPixelHit(models.Model):
    """Pixel hits waiting to become events.

    ``GET /prm/p.gif`` only appends its hit here (one plain insert, no
    constraint to check), and answers; a job turns the queue into events in
    batches through the same set-based ingestion as the API (validation,
    bots, visitors, persons, metrics, scores) and deletes what it stored in
    the same transaction, so a hit is always either queued or an event.  A
    batch that fails is kept with its error and skipped, never lost.
    """

    _name = "prm.pixel.hit"
    _description = "PRM Pixel Hit (queue)"
    _order = "id"
    _log_access = False

    site_id = fields.Many2one("prm.tracking.site", required=True, ondelete="cascade")
    company_id = fields.Many2one("res.company", required=True, ondelete="cascade")
    received_at = fields.Datetime(required=True)
    method = fields.Char(required=True)
    headers = fields.Json(help="The request headers that mark a prefetch.")
    event = fields.Json(required=True, help="The hit as an event of the API.")
    error = fields.Text(help="Why the hit could not be stored; it is then skipped.")

    @api.model
    def _enqueue(self, site_id, company_id, event, method, headers, received_at):
        """Append one hit to the queue; one statement, committed without
        waiting for the WAL flush (after a server crash the last instant of
        hits may be missing, never half written)."""
        self.env.cr.execute(
            SQL(
                """
            INSERT INTO prm_pixel_hit (site_id, company_id, received_at, method,
                                       headers, event)
            VALUES (%s, %s, %s, %s, %s, %s)
            RETURNING id, set_config('synchronous_commit', 'off', true)
                """,
                site_id,
                company_id,
                received_at,
                method,
                json.dumps(headers) if headers else None,
                json.dumps(event),
            )
        )
        if self.env.cr.fetchone()[0] % TRIGGER_EVERY == 0:
            self.env.ref("prm_tracking.ir_cron_prm_pixel_flush")._trigger()

    @api.model
    def _cron_flush(self, batch_size=FLUSH_BATCH, site_ids=None):
        """Turn queued hits (of these sites, or all) into events, oldest
        first, in batches."""
        self.flush_model()
        done = 0
        of_sites = SQL("AND site_id = ANY(%s)", list(site_ids)) if site_ids else SQL()
        self.env.cr.execute(
            SQL("SELECT count(*) FROM prm_pixel_hit WHERE error IS NULL %s", of_sites)
        )
        queued = self.env.cr.fetchone()[0]
        while True:
            self.env.cr.execute(
                SQL(
                    """
                SELECT id, site_id, company_id, method, headers, event
                  FROM prm_pixel_hit
                 WHERE error IS NULL %s
              ORDER BY id
                 LIMIT %s
                   FOR UPDATE SKIP LOCKED
                    """,
                    of_sites,
                    batch_size,
                )
            )
            rows = self.env.cr.fetchall()
            if not rows:
                break
            self._flush_rows(rows)
            done += len(rows)
            self.env["ir.cron"]._notify_progress(
                done=done, remaining=max(queued - done, 0)
            )
            commit_cron_batch(self.env)
        return done

    def _flush_rows(self, rows):
        """Ingest one batch of queue rows, grouped by what the ingestion
        takes per request (site, method, prefetch headers), and delete them;
        a group that fails keeps its rows with the error."""
        groups = defaultdict(list)
        for hit_id, site_id, company_id, method, headers, event in rows:
            key = (site_id, company_id, method, tuple(sorted((headers or {}).items())))
            groups[key].append((hit_id, event))
        events = self.env["prm.event"].with_context(tracking_disable=True)
        for (site_id, company_id, method, headers), hits in groups.items():
            ids = [hit_id for hit_id, _event in hits]
            site = self.env["prm.tracking.site"].browse(site_id)
            try:
                with self.env.cr.savepoint():
                    report = events.with_context(
                        allowed_company_ids=[company_id]
                    )._ingest(
                        [event for _hit_id, event in hits],
                        site=site,
                        origin="pixel",
                        company=self.env["res.company"].browse(company_id),
                        user_agent="",
                        method=method,
                        headers=dict(headers),
                        require_visitor=True,
                    )
                    if report["rejected"]:
                        site._count_rejected(len(report["rejected"]))
                    self.env.cr.execute(
                        SQL("DELETE FROM prm_pixel_hit WHERE id = ANY(%s)", ids)
                    )
            except PsycopgError as exc:
                if exc.pgcode in PG_CONCURRENCY_ERRORS_TO_RETRY:
                    raise  # transient: the whole batch is tried again later
                self._keep_failed(ids, exc)
            except Exception as exc:  # noqa: BLE001 - keep the hits, go on
                self._keep_failed(ids, exc)
        self.invalidate_model()

    def _keep_failed(self, ids, exc):
        _logger.exception("PRM: %d pixel hits could not be stored", len(ids))
        self.env.cr.execute(
            SQL(
                "UPDATE prm_pixel_hit SET error = %s WHERE id = ANY(%s)",
                str(exc) or type(exc).__name__,
                ids,
            )
        )

    def action_retry(self):
        """Queue failed hits again (after the cause was fixed)."""
        self.check_access("write")
        self.sudo().write({"error": False})
        self.env.ref("prm_tracking.ir_cron_prm_pixel_flush")._trigger()
