# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Retention (the batched purge of old events) and "forget this person"."""

import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools.cron import commit_cron_batch
from ..tools.planner import planned_for_indexes

_logger = logging.getLogger(__name__)

PURGE_BATCH = 10000
FAILED_HITS_DAYS = 30  # pixel hits that could not be stored are kept this long
METRICS_BATCH = 5000
RETENTION_PARAM = "prm_tracking.retention_days"
DEFAULT_RETENTION_DAYS = 730


class PrmRetention(models.AbstractModel):
    """The retention period's purge, the daily metrics refresh and "forget
    this person", set-based and batched."""

    _name = "prm.retention"
    _description = "PRM Retention and Erasure"

    @api.model
    def _retention_days(self):
        value = self.env["ir.config_parameter"].sudo().get_param(RETENTION_PARAM)
        try:
            return (
                max(int(value), 0)
                if value  # get_param answers False when the parameter is unset
                else DEFAULT_RETENTION_DAYS
            )
        except ValueError:
            return DEFAULT_RETENTION_DAYS

    @api.model
    def _cron_purge_expired(self, batch_size=PURGE_BATCH):
        """Delete events older than the retention period, one batch per call
        (their persons' metrics follow through the person queue), then the
        visitors left without events and the pixel hits that failed before
        the cutoff."""
        days = self._retention_days()
        if not days:
            return
        cutoff = fields.Datetime.now() - timedelta(days=days)
        self.env.flush_all()
        # the foreign key's per-event queries on the person queue planned for
        # the queue as it is now (this job queues up to 10,000 persons a
        # batch): see planned_for_indexes
        with planned_for_indexes(self.env.cr):
            self.env.cr.execute(
                SQL(
                    """
                DELETE FROM prm_event WHERE id IN (
                    -- the oldest first, along the occurred_at index: ordered
                    -- by id, PostgreSQL walked the primary key past the rows
                    -- earlier batches deleted (6 s a batch on 200,000 events)
                    SELECT id FROM prm_event WHERE occurred_at < %s
                  ORDER BY occurred_at LIMIT %s)
                RETURNING lead_id, partner_id
                    """,
                    cutoff,
                    batch_size,
                )
            )
            deleted = self.env.cr.fetchall()
        self.env["prm.person.queue"]._enqueue_persons(pairs=set(deleted))
        self.env.cr.execute(
            SQL(
                """
            DELETE FROM prm_visitor v WHERE v.last_seen < %(cutoff)s
               AND NOT v.do_not_track
               -- stored before the cutoff too: a request stores its new
               -- visitors (committed at once) before their events
               AND v.create_date < %(cutoff)s
               AND NOT EXISTS (SELECT 1 FROM prm_event e WHERE e.visitor_id = v.id)
                """,
                cutoff=cutoff,
            )
        )
        self.env.cr.execute(
            SQL(
                "DELETE FROM prm_pixel_hit "
                "WHERE error IS NOT NULL AND received_at < %s",
                max(cutoff, fields.Datetime.now() - timedelta(days=FAILED_HITS_DAYS)),
            )
        )
        self.env.cr.execute(
            SQL("SELECT count(*) FROM prm_event WHERE occurred_at < %s", cutoff)
        )
        remaining = self.env.cr.fetchone()[0]
        self.env["prm.event"].invalidate_model()
        self.env["prm.visitor"].invalidate_model()
        self.env["prm.pixel.hit"].invalidate_model()
        _logger.info("PRM purge: %s events deleted, %s left", len(deleted), remaining)
        self.env["ir.cron"]._notify_progress(done=len(deleted), remaining=remaining)
        commit_cron_batch(self.env)

    @api.model
    def _cron_refresh_metrics(self, batch_size=METRICS_BATCH):
        """Roll the 7/30-day windows forward for persons seen in the last 31
        days: they are handed to the person queue (whose job recomputes
        metrics and scores, one at a time with the ingestion's)."""
        since = fields.Datetime.now() - timedelta(days=31)
        done = 0
        for model in ("crm.lead", "res.partner"):
            table = SQL.identifier(self.env[model]._table)
            last_id = 0
            while True:
                self.env.cr.execute(
                    SQL(
                        """
                    SELECT id FROM %s
                     WHERE id > %s AND (prm_last_seen >= %s OR prm_visits_30d > 0)
                  ORDER BY id LIMIT %s
                        """,
                        table,
                        last_id,
                        since,
                        batch_size,
                    )
                )
                ids = [r[0] for r in self.env.cr.fetchall()]
                if not ids:
                    break
                if model == "crm.lead":
                    self.env["prm.person.queue"]._enqueue_persons(lead_ids=ids)
                else:
                    self.env["prm.person.queue"]._enqueue_persons(partner_ids=ids)
                done += len(ids)
                last_id = ids[-1]
                commit_cron_batch(self.env)
        self.env["ir.cron"]._notify_progress(done=done, remaining=0)

    @api.model
    def _forget(self, leads=None, partners=None):
        """Erase every event of these persons (set-based), also those that only
        carry one of their emails, mark them and their browsers do-not-track
        (so a later identify or page view of theirs is dropped) and drop their
        queued pixel hits and queue rows.  Returns the number of events
        deleted."""
        lead_ids = list(leads.ids) if leads else []
        partner_ids = list(partners.ids) if partners else []
        emails = sorted(
            {
                email
                for email in (leads.mapped("email_normalized") if leads else [])
                + (partners.mapped("email_normalized") if partners else [])
                if email
            }
        )
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
            UPDATE prm_visitor
               SET do_not_track = true, lead_id = NULL, partner_id = NULL,
                   claimed_email = NULL
             WHERE lead_id = ANY(%s) OR partner_id = ANY(%s)
         RETURNING id, site_id, token
                """,
                lead_ids,
                partner_ids,
            )
        )
        visitors = self.env.cr.fetchall()
        visitor_ids = [v[0] for v in visitors]
        self.env.cr.execute(
            SQL(
                """
            DELETE FROM prm_event e
             WHERE e.lead_id = ANY(%(leads)s) OR e.partner_id = ANY(%(partners)s)
                OR e.visitor_id = ANY(%(visitors)s)
                OR (e.lead_id IS NULL AND e.partner_id IS NULL
                    AND e.payload ->> 'email' = ANY(%(emails)s))
                """,
                leads=lead_ids,
                partners=partner_ids,
                visitors=visitor_ids,
                emails=emails,
            )
        )
        count = self.env.cr.rowcount
        self.env.cr.execute(
            SQL(
                """
            UPDATE prm_visitor SET claimed_email = NULL
             WHERE claimed_email = ANY(%(emails)s);
            DELETE FROM prm_person_queue WHERE email = ANY(%(emails)s)
                """,
                emails=emails,
            )
        )
        if visitors:
            self.env.cr.execute(
                SQL(
                    """
                DELETE FROM prm_pixel_hit h
                 USING unnest(%s::int[], %s::varchar[]) AS v(site_id, token)
                 WHERE h.site_id = v.site_id AND h.event ->> 'visitor' = v.token
                    """,
                    [v[1] for v in visitors],
                    [v[2] for v in visitors],
                )
            )
        for model, ids in (("crm.lead", lead_ids), ("res.partner", partner_ids)):
            if ids:
                self.env.cr.execute(
                    SQL(
                        "UPDATE %s SET prm_do_not_track = true WHERE id = ANY(%s)",
                        SQL.identifier(self.env[model]._table),
                        ids,
                    )
                )
                self.env[model].invalidate_model(["prm_do_not_track"])
        self.env["prm.event"]._recompute_metrics(lead_ids, partner_ids)
        self.env["prm.event"].invalidate_model()
        self.env["prm.visitor"].invalidate_model()
        self.env["prm.pixel.hit"].invalidate_model()
        return count
