# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models
from odoo.tools import SQL

from odoo.addons.prm_tracking.engine import bot_reason

BACKFILL_BATCH = 5000


class MailingTrace(models.Model):
    _inherit = "mailing.trace"

    def set_opened(self, domain=None):
        traces = self + (self.search(domain) if domain else self.browse())
        newly = traces.filtered(lambda t: t.trace_status not in ("open", "reply"))
        result = super(MailingTrace, traces).set_opened()
        newly._prm_record("email_open", "open", "open_datetime")
        return result

    def set_replied(self, domain=None):
        traces = self + (self.search(domain) if domain else self.browse())
        newly = traces.filtered(lambda t: not t.reply_datetime)
        result = super(MailingTrace, traces).set_replied()
        newly._prm_record("email_reply", "reply", "reply_datetime")
        return result

    def _prm_person(self):
        """(lead id, partner id) behind this trace: its document, else its email."""
        self.ensure_one()
        if self.model == "crm.lead" and self.res_id:
            lead = self.env["crm.lead"].sudo().browse(self.res_id).exists()
            return lead.id or None, lead.partner_id.id or None
        if self.model == "res.partner" and self.res_id:
            return None, self.res_id
        return self._prm_persons_by_email().get(self.email, (None, None))

    def _prm_persons_by_email(self):
        """{email: (lead id, partner id)} of the persons with these traces'
        emails in the mailing's company (that of its responsible user), or
        shared: a mailing never reaches another company's persons."""
        emails = sorted({t.email for t in self if t.email})
        persons = {}
        if not emails:
            return persons
        company = self.mass_mailing_id.user_id.company_id[:1] or self.env.company
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
            SELECT e.email,
                   (SELECT id FROM crm_lead l WHERE l.email_normalized = e.email
                       AND l.active
                       AND (l.company_id IS NULL OR l.company_id = %(company)s)
                  ORDER BY id DESC LIMIT 1),
                   (SELECT id FROM res_partner p WHERE p.email_normalized = e.email
                       AND p.active
                       AND (p.company_id IS NULL OR p.company_id = %(company)s)
                  ORDER BY id LIMIT 1)
              FROM unnest(%(emails)s::varchar[]) AS e(email)
                """,
                company=company.id,
                emails=emails,
            )
        )
        for email, lead_id, partner_id in self.env.cr.fetchall():
            persons[email] = (lead_id, partner_id)
        return persons

    def _prm_values(self, code, suffix, moment, url=None, external_id=None, bot=None):
        lead_id, partner_id = self._prm_person()
        mailing = self.mass_mailing_id
        return {
            "code": code,
            "origin": "mass_mailing",
            "external_id": external_id or f"trace-{self.id}-{suffix}",
            "occurred_at": moment,
            "lead_id": lead_id,
            "partner_id": partner_id,
            "url": url,
            "title": mailing.subject,
            "source_id": mailing.source_id.id,
            "medium_id": mailing.medium_id.id,
            "campaign_id": mailing.campaign_id.id,
            "bot_reason": bot,
        }

    def _prm_record(self, code, suffix, date_field):
        values = [
            trace._prm_values(code, suffix, trace[date_field])
            for trace in self.sudo()
            if trace[date_field]
        ]
        return self.env["prm.ingest"].sudo()._record(values)

    @api.model
    def _prm_backfill(self, batch_size=BACKFILL_BATCH):
        """Turn every past open, reply and mailing click into events (idempotent)."""
        stored = 0
        Trace = self.sudo().with_context(active_test=False)
        for code, suffix, field in (
            ("email_open", "open", "open_datetime"),
            ("email_reply", "reply", "reply_datetime"),
        ):
            last_id = 0
            while True:
                traces = Trace.search(
                    [(field, "!=", False), ("id", ">", last_id)],
                    order="id",
                    limit=batch_size,
                )
                if not traces:
                    break
                stored += traces._prm_record(code, suffix, field)
                last_id = traces[-1].id
        Click = self.env["link.tracker.click"].sudo()
        last_id = 0
        while True:
            clicks = Click.search(
                [("mailing_trace_id", "!=", False), ("id", ">", last_id)],
                order="id",
                limit=batch_size,
            )
            if not clicks:
                break
            stored += clicks._prm_record()
            last_id = clicks[-1].id
        return stored

    @api.model
    def _prm_click_bot_reason(self, trace, moment):
        delay = (
            (moment - trace.sent_datetime).total_seconds()
            if trace.sent_datetime and moment
            else None
        )
        return bot_reason(seconds_after_delivery=delay, kind="email_click")
