# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import api, fields, models
from odoo.tools import SQL

from odoo.addons.prm_tracking.tools.event_rows import insert_events_select
from odoo.addons.prm_tracking.tools.privacy import untrackable

_logger = logging.getLogger(__name__)
SYNC_BATCH = 20000


class WebsiteTrack(models.Model):
    _inherit = "website.track"

    @api.model
    def _prm_sync(self, batch_size=SYNC_BATCH):
        """Copy page views of visitors linked to leads into prm.event.

        Odoo writes website.track rows with raw SQL (no ORM hook), so this runs
        as a frequent cron: one INSERT .. SELECT per batch, idempotent on the
        track id, that also picks up the earlier pages of a visitor who became
        a lead later.  Tracks of do-not-track or blacklisted persons are skipped.
        The persons' metrics and scores follow through the person queue.
        """
        self.env.flush_all()
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        page_view = self.env.ref("prm_tracking.prm_event_type_page_view")
        rows = insert_events_select(
            self.env.cr,
            {
                "event_type_id": SQL("%s", page_view.id),
                "channel": SQL("'web'"),
                "occurred_at": SQL("t.visit_datetime"),
                "lead_id": SQL("l.id"),
                "partner_id": SQL("pp.id"),
                "origin": SQL("'website'"),
                "external_id": SQL("'wtrack-' || t.id"),
                "url": SQL(
                    "CASE WHEN left(t.url, 1) = '/' "
                    "THEN COALESCE(NULLIF(w.domain, ''), %s) || t.url "
                    "ELSE t.url END",
                    base_url,
                ),
                "title": SQL("vw.name"),
                "source_id": SQL("l.source_id"),
                "medium_id": SQL("l.medium_id"),
                "campaign_id": SQL("l.campaign_id"),
                "is_bot": SQL("false"),
                "company_id": SQL("l.company_id"),
            },
            SQL(
                """
              FROM website_track t
              JOIN website_visitor v ON v.id = t.visitor_id
         LEFT JOIN website w ON w.id = v.website_id
         LEFT JOIN website_page p ON p.id = t.page_id
         LEFT JOIN ir_ui_view vw ON vw.id = p.view_id
              JOIN LATERAL (
                    SELECT lead.* FROM crm_lead_website_visitor_rel rel
                      JOIN crm_lead lead ON lead.id = rel.crm_lead_id
                     WHERE rel.website_visitor_id = v.id
                  ORDER BY lead.id DESC LIMIT 1) l ON true
         LEFT JOIN res_partner pp ON pp.id = COALESCE(v.partner_id, l.partner_id)
             WHERE NOT %(untrackable)s
               AND NOT EXISTS (SELECT 1 FROM prm_event e
                                WHERE e.site_id IS NULL AND e.origin = 'website'
                                  AND e.external_id = 'wtrack-' || t.id)
          ORDER BY t.id
             LIMIT %(limit)s
                """,
                untrackable=untrackable("pp", "l"),
                limit=batch_size,
            ),
            self.env.uid,
            fields.Datetime.now(),
            returning=("lead_id", "partner_id"),
        )
        self.env["prm.person.queue"]._enqueue_persons(pairs=set(rows))
        self.env["prm.event"].invalidate_model()
        if len(rows) == batch_size:
            self.env["ir.cron"]._notify_progress(done=len(rows), remaining=1)
        else:
            self.env["ir.cron"]._notify_progress(done=len(rows), remaining=0)
        _logger.info("PRM website sync: %s page views copied", len(rows))
        return len(rows)
