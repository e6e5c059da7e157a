# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
import logging
import threading
import time
from collections import defaultdict

from psycopg2 import Error as PsycopgError

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY
from odoo.tools import SQL

from ..tools.cron import commit_cron_batch

_logger = logging.getLogger(__name__)

FLUSH_BATCH = 5000
# the pixel wakes the flush job up every this many queued hits, so that a
# burst drains in batches before the job's next scheduled run
TRIGGER_EVERY = 1000
QUEUE_MAX_PARAM = "prm_tracking.pixel_queue_max"
DEFAULT_QUEUE_MAX = 1_000_000
GAUGE_SECONDS = 5  # how often a process counts the queue (and saves its drops)


class QueueGauge:
    """What one server process knows of the pixel queue: its length as
    counted at most every few seconds (plus the hits this process queued
    since), and the hits it dropped, saved to the sites at that pace."""

    def __init__(self):
        self.lock = threading.Lock()
        self.state = {}  # dbname -> [checked at, queued, bound]
        self.dropped = defaultdict(int)  # (dbname, site id) -> hits

    def due(self, dbname):
        state = self.state.get(dbname)
        return not state or time.monotonic() - state[0] > GAUGE_SECONDS


GAUGE = QueueGauge()


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
    def _queue_full(self):
        """True when the queue holds its bound of hits (checked without a
        count per hit: see QueueGauge); the hit is then dropped and counted,
        never waited for."""
        dbname = self.env.cr.dbname
        if GAUGE.due(dbname):
            self._refresh_gauge(dbname)
        with GAUGE.lock:
            _checked, queued, bound = GAUGE.state[dbname]
            return bool(bound) and queued >= bound

    def _refresh_gauge(self, dbname):
        # failed hits count too: they stay until retention deletes them
        self.env.cr.execute("SELECT count(*) FROM prm_pixel_hit")
        queued = self.env.cr.fetchone()[0]
        param = self.env["ir.config_parameter"].sudo().get_param(QUEUE_MAX_PARAM)
        try:
            bound = max(int(param), 0) if param else DEFAULT_QUEUE_MAX
        except ValueError:
            bound = DEFAULT_QUEUE_MAX
        with GAUGE.lock:
            GAUGE.state[dbname] = [time.monotonic(), queued, bound]
            dropped = {
                site_id: GAUGE.dropped.pop((db, site_id))
                for db, site_id in list(GAUGE.dropped)
                if db == dbname
            }
        if dropped:
            self._save_dropped(dropped)

    def _save_dropped(self, dropped):
        """Add dropped hits to their sites in a transaction of their own
        (a short lock timeout: a busy site row never delays the pixel);
        what cannot be saved now is kept for the next time."""
        try:
            with self.env.registry.cursor() as cr:
                cr.execute("SET LOCAL lock_timeout = '200ms'")
                for site_id, count in sorted(dropped.items()):
                    cr.execute(
                        SQL(
                            "UPDATE prm_tracking_site SET pixel_dropped_count = "
                            "COALESCE(pixel_dropped_count, 0) + %s WHERE id = %s",
                            count,
                            site_id,
                        )
                    )
        except PsycopgError:
            with GAUGE.lock:
                for site_id, count in dropped.items():
                    GAUGE.dropped[self.env.cr.dbname, site_id] += count

    @api.model
    def _count_dropped(self, site_id):
        with GAUGE.lock:
            GAUGE.dropped[self.env.cr.dbname, site_id] += 1

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
        with GAUGE.lock:
            state = GAUGE.state.get(self.env.cr.dbname)
            if state:
                state[1] += 1
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
            if self.env.context.get("ir_cron_progress_id"):
                # each batch in a READ COMMITTED transaction of its own, like
                # the requests it shares visitors with
                self.env["prm.ingest"]._read_committed()
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
        ingest = self.env["prm.ingest"].with_context(tracking_disable=True)
        for (site_id, company_id, method, headers), hits in groups.items():
            ids = [hit_id for hit_id, _event in hits]
            site = self.env["prm.tracking.site"].browse(site_id)
            try:
                with self.env.cr.savepoint():
                    report = ingest.with_context(
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

    def write(self, vals):
        """Only the error is ever cleared (to retry): a queued hit is
        ingested as superuser, so what it says is the sender's alone."""
        if set(vals) - {"error"} or vals.get("error"):
            raise UserError(self.env._("Queued hits cannot be edited, only retried."))
        return super().write(vals)

    def action_retry(self):
        """Queue failed hits again (after the cause was fixed)."""
        self.check_access("write")
        self.sudo().write({"error": False})
        self.env.ref("prm_tracking.ir_cron_prm_pixel_flush")._trigger()
