# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
from datetime import timedelta

import pytz

from odoo import api, fields, models, tools
from odoo.tools import SQL

from ..engine import AGE_BANDS, COMPANY_SIZES
from ..tools import charts

_logger = logging.getLogger(__name__)

CONFIRM_SCOPE = "prm-identity-confirmation"
# one colour per event channel in the engagement chart
CHANNEL_COLORS = {
    "web": "#017e84",
    "email": "#f0ad4e",
    "form": "#6f42c1",
    "sales": "#d9534f",
    "other": "#adb5bd",
}


class CrmLead(models.Model):
    _name = "crm.lead"
    _inherit = ["crm.lead", "prm.person.mixin"]

    prm_event_ids = fields.One2many(
        "prm.event", "lead_id", string="Engagement", readonly=True
    )
    prm_industry_id = fields.Many2one(
        "res.partner.industry", string="Industry", ondelete="set null"
    )
    prm_company_size = fields.Selection(
        [(code, aliases[0]) for code, aliases in COMPANY_SIZES.items()],
        string="Company Size",
    )
    prm_age_band = fields.Selection(
        [(code, aliases[0]) for code, aliases in AGE_BANDS.items()],
        string="Age Band",
    )
    prm_interest_ids = fields.Many2many(
        "prm.interest", string="Interests", relation="crm_lead_prm_interest_rel"
    )
    prm_identity_verified = fields.Boolean(
        string="Identity Verified",
        default=True,
        copy=False,
        tracking=True,
        help="False for a lead created from an unsigned sign-up on a website: "
        "anyone could have typed that address. Until it is verified (a signed "
        "identify, a click on the confirmation link, or a salesperson), no "
        "qualification action runs for it.",
    )

    prm_site_id = fields.Many2one(
        "prm.tracking.site",
        string="Tracking Site",
        readonly=True,
        copy=False,
        ondelete="set null",
        help="The site whose sign-up created this lead.",
    )
    prm_confirmation_sent_at = fields.Datetime(
        string="Confirmation Sent On", readonly=True, copy=False
    )
    prm_confirmation_url = fields.Char(
        compute="_compute_prm_confirmation_url",
        groups="base.group_system",
        help="The double opt-in link mailed to an unverified lead's address.",
    )

    prm_engagement_chart = fields.Json(
        string="Engagement over time",
        compute="_compute_prm_engagement_chart",
        groups="prm_tracking.group_prm_user",
    )

    def _compute_prm_engagement_chart(self, days=90):
        """Events per day over the last ``days`` days, by channel (bots
        left out): a stacked bar chart."""
        today = fields.Date.context_today(self)
        # days in the user's time zone, as the chart's labels
        tz = self.env.context.get("tz") or self.env.user.tz or "UTC"
        if tz not in pytz.all_timezones_set:
            tz = "UTC"
        start = today - timedelta(days=days - 1)
        ids = [lead.id for lead in self if isinstance(lead.id, int)]
        counts = {}
        if ids:
            self.env["prm.event"].flush_model()
            self.env.cr.execute(
                SQL(
                    """
                SELECT e.lead_id, t.channel, d.day, count(*)
                  FROM prm_event e
                  JOIN prm_event_type t ON t.id = e.event_type_id
          CROSS JOIN LATERAL (
                    SELECT (e.occurred_at AT TIME ZONE 'UTC' AT TIME ZONE %s)::date
                           AS day
                  ) d
                 WHERE e.lead_id = ANY(%s) AND d.day >= %s
                   AND e.occurred_at >= %s - interval '1 day'
                   AND e.is_bot IS NOT TRUE
              GROUP BY 1, 2, 3
                    """,
                    tz,
                    ids,
                    start,
                    start,
                )
            )
            for lead_id, channel, day, count in self.env.cr.fetchall():
                counts.setdefault(lead_id, {})[(channel, day)] = count
        channels = self.env["prm.event.type"]._fields["channel"]
        names = dict(channels._description_selection(self.env))
        labels = [start + timedelta(days=i) for i in range(days)]
        for lead in self:
            mine = counts.get(lead.id)
            if not mine:
                lead.prm_engagement_chart = False
                continue
            used = sorted({channel for channel, _day in mine})
            datasets = [
                charts.dataset(
                    names.get(channel, channel),
                    [mine.get((channel, day), 0) for day in labels],
                    backgroundColor=CHANNEL_COLORS.get(channel, "#adb5bd"),
                    borderColor=CHANNEL_COLORS.get(channel, "#adb5bd"),
                )
                for channel in used
            ]
            lead.prm_engagement_chart = charts.chart(
                "bar",
                [fields.Date.to_string(day) for day in labels],
                datasets,
                y_title=self.env._("Events per day"),
                stacked=True,
                legend=True,
            )

    def _compute_prm_confirmation_url(self):
        for lead in self:
            lead.prm_confirmation_url = (
                lead._prm_confirmation_url() if lead.id else False
            )

    def _prm_confirmation_token(self):
        self.ensure_one()
        return tools.hmac(
            self.env(su=True), CONFIRM_SCOPE, (self.id, self.email_normalized or "")
        )

    def _prm_confirmation_url(self):
        self.ensure_one()
        base = self.get_base_url()
        return f"{base}/prm/confirm/{self.id}/{self._prm_confirmation_token()}"

    def _prm_send_identity_confirmation(self):
        """Mail the double opt-in link to these unverified leads' addresses,
        at most the site's hourly cap of confirmation mails (anyone can sign
        up any address: the cap keeps the site from being used to mail
        strangers in bulk).  Returns the leads mailed."""
        template = self.env.ref("prm_tracking.mail_template_prm_identity_confirmation")
        now = fields.Datetime.now()
        sent = self.browse()
        for site in self.prm_site_id:
            leads = self.filtered(
                lambda lead, site=site: lead.prm_site_id == site
                and not lead.prm_identity_verified
                and lead.email_normalized
            )
            recent = self.sudo().search_count(
                [
                    ("prm_site_id", "=", site.id),
                    ("prm_confirmation_sent_at", ">=", now - timedelta(hours=1)),
                ]
            )
            allowed = max(site.confirmation_hourly_limit - recent, 0)
            if len(leads) > allowed:
                _logger.warning(
                    "PRM: %s confirmation mails of site %s not sent (hourly cap)",
                    len(leads) - allowed,
                    site.id,
                )
            for lead in leads[:allowed]:
                template.sudo().send_mail(lead.id, email_layout_xmlid=False)
            leads[:allowed].sudo().write({"prm_confirmation_sent_at": now})
            sent |= leads[:allowed]
        return sent

    def _prm_verify_identity(self, how):
        """Mark these leads verified (``how`` says by what, in the chatter)
        and hand them to the person queue, so that what waited runs."""
        leads = self.filtered(lambda lead: not lead.prm_identity_verified)
        if not leads:
            return leads
        leads.sudo().write({"prm_identity_verified": True})
        # browsers linked by unsigned sign-ups may be anyone's: from now on
        # only signed identities link a browser to this person
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE prm_visitor SET lead_id = NULL, partner_id = NULL, "
                "linked_at = NULL WHERE lead_id = ANY(%s) AND NOT link_verified",
                leads.ids,
            )
        )
        self.env["prm.visitor"].invalidate_model()
        for lead in leads:
            lead.sudo().message_post(body=how, subtype_xmlid="mail.mt_note")
        self.env["prm.person.queue"].sudo()._enqueue_persons(lead_ids=leads.ids)
        return leads

    def action_prm_verify_identity(self):
        """A salesperson vouches for the person behind these leads."""
        self.check_access("write")
        self._prm_verify_identity(
            self.env._("Identity confirmed by %(user)s.", user=self.env.user.name)
        )
        return True

    def _merge_dependences(self, opportunities):
        """Merged leads' events, visitors and queued work move to the lead
        that stays (Odoo deletes the others), whose metrics are recomputed."""
        res = super()._merge_dependences(opportunities)
        self._prm_merge_from(opportunities)
        return res

    @api.model
    def _prm_merge_tables(self):
        """The PRM tables whose rows follow merged leads to the one that stays
        (other PRM addons add theirs)."""
        return ["prm_event", "prm_visitor", "prm_person_queue"]

    def _prm_merge_from(self, opportunities):
        self.ensure_one()
        others = opportunities - self
        ids = others.ids
        if not ids:
            return
        if any(others.mapped("prm_do_not_track")):
            self.prm_do_not_track = True  # a forgotten person stays forgotten
        self.env.flush_all()
        for table in self._prm_merge_tables():
            self.env.cr.execute(
                SQL(
                    "UPDATE %s SET lead_id = %s WHERE lead_id = ANY(%s)",
                    SQL.identifier(table),
                    self.id,
                    ids,
                )
            )
        self.env.invalidate_all()
        self.env["prm.event"].sudo()._recompute_metrics([self.id])

    def _prm_event_domain(self):
        return [("lead_id", "in", self.ids)]

    @api.model
    def _prm_event_column(self):
        return "lead_id"

    def action_prm_forget(self):
        """Erase this lead's events and visitor links (right to be forgotten)."""
        self._prm_forget(leads=self)
        return True
