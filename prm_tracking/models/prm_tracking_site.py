# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import hmac
import secrets

from odoo import api, fields, models, tools
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..engine.keys import PUBLIC_KEY_RE, SECRET_KEY_RE, hash_key
from ..engine.origins import normalize_origin, origin_allowed

PUBLIC_PREFIX = "prm_pk_"
SECRET_PREFIX = "prm_sk_"


class PrmTrackingSite(models.Model):
    """A website or app that sends events, with its keys and privacy settings."""

    _name = "prm.tracking.site"
    _description = "PRM Tracking Site"
    _order = "name"

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    allowed_origins = fields.Text(
        help="Origins the browser snippet may send from, one per line, e.g. "
        "https://www.example.com. A leading '*.' allows every subdomain "
        "(https://*.example.com).",
    )
    public_key = fields.Char(
        readonly=True,
        copy=False,
        index=True,
        default=lambda self: self._default_public_key(),
        help="Safe to embed in web pages: identifies the site to the snippet and "
        "the pixel.",
    )
    secret_key_hash = fields.Char(
        readonly=True, copy=False, index=True, groups="base.group_system"
    )
    secret_key = fields.Char(
        string="Secret Key (for signatures)",
        readonly=True,
        copy=False,
        groups="base.group_system",
        help="Kept to check identity signatures (HMAC-SHA256 of the "
        "normalized email); never shown after it is generated.",
    )
    secret_key_hint = fields.Char(
        readonly=True,
        copy=False,
        string="Secret Key",
        help="End of the current secret key; the key itself is shown once, "
        "when generated.",
    )
    secret_key_date = fields.Datetime(
        readonly=True, copy=False, string="Key Generated On"
    )
    require_consent = fields.Boolean(
        help="The snippet sends nothing until the page calls "
        "prm('consent', true), and the server drops browser events sent "
        "without consent.",
    )
    identity_verification = fields.Selection(
        [
            ("signature", "Signed identities only"),
            ("double_opt_in", "Signed identities or a confirmation email"),
        ],
        default="signature",
        required=True,
        help="How a lead created from an unsigned sign-up on this site gets "
        "verified (until then no qualification action reaches outside): by a "
        "later signed identify or a salesperson, or also by a click on a "
        "confirmation link mailed to the address (double opt-in).",
    )
    confirmation_hourly_limit = fields.Integer(
        string="Confirmation Mails per Hour",
        default=100,
        help="Most confirmation mails (double opt-in) sent per hour for this "
        "site's sign-ups; the others wait for a signed identify or a "
        "salesperson.",
    )
    rate_limit = fields.Integer(
        string="API Rate Limit",
        default=120000,
        help="Most events per minute the secret-key API accepts (per server "
        "process); 0 = no limit.",
    )
    public_rate_limit = fields.Integer(
        default=60000,
        help="Most events per minute the browser snippet and the pixel accept "
        "for this site (per server process); 0 = no limit.",
    )
    visitor_rate_limit = fields.Integer(
        default=120,
        help="Most events per minute one visitor may send through the public "
        "channels (per server process); 0 = no limit.",
    )
    ip_rate_limit = fields.Integer(
        string="IP Rate Limit",
        default=1200,
        help="Most events per minute one IP address may send through the "
        "public channels (per server process); 0 = no limit.",
    )
    pixel_dropped_count = fields.Integer(
        string="Pixel Hits Dropped",
        readonly=True,
        copy=False,
        default=0,
        help="Pixel hits dropped because the pixel queue was full or a rate "
        "limit was passed.",
    )
    rejected_count = fields.Integer(
        readonly=True,
        copy=False,
        default=0,
        help="Invalid pixel hits dropped for this site.",
    )
    event_count = fields.Integer(compute="_compute_event_count")
    visitor_count = fields.Integer(compute="_compute_visitor_count")
    snippet = fields.Text(compute="_compute_snippet")

    _sql_constraints = [
        ("public_key_unique", "unique(public_key)", "Public keys must be unique."),
        (
            "secret_key_hash_unique",
            "unique(secret_key_hash)",
            "Secret keys must be unique.",
        ),
        (
            "rate_limit_positive",
            "check(rate_limit >= 0 AND public_rate_limit >= 0 "
            "AND visitor_rate_limit >= 0 AND ip_rate_limit >= 0)",
            "Rate limits cannot be negative.",
        ),
    ]

    def _default_public_key(self):
        return PUBLIC_PREFIX + secrets.token_urlsafe(18)

    def _compute_event_count(self):
        # from the Engagement report's counts (what the button opens), not by
        # counting millions of events on each opening of the form
        counts = dict(
            self.env["prm.engagement.report"]._read_group(
                [("site_id", "in", self.ids)], ["site_id"], ["events:sum"]
            )
        )
        for site in self:
            site.event_count = counts.get(site, 0)

    def _compute_visitor_count(self):
        counts = dict(
            self.env["prm.visitor"]._read_group(
                [("site_id", "in", self.ids)], ["site_id"], ["__count"]
            )
        )
        for site in self:
            site.visitor_count = counts.get(site, 0)

    @api.depends("public_key", "require_consent")
    def _compute_snippet(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        for site in self:
            consent = ", {consent: 'required'}" if site.require_consent else ""
            site.snippet = (
                "<script>\n"
                "(function(w,d,u,k,o){w.prm=w.prm||function(){(w.prm.q=w.prm.q||[])"
                ".push(arguments)};w.prm('init',k,u,o);var s=d.createElement('script');"
                "s.async=1;s.src=u+'/prm/tracker.js';d.head.appendChild(s);})"
                f"(window,document,'{base_url}','{site.public_key}'{consent});\n"
                "prm('page');\n"
                "</script>\n"
                "<!-- when a visitor signs up or logs in (signature: "
                "HMAC-SHA256 of the normalized email with this site's secret "
                "key, computed by your server): -->\n"
                "<!-- prm('identify', {email: 'jane@example.com', "
                "signature: '<hex digest>', "
                "profile: {country: 'BE', company_size: '11-50'}}); -->\n"
                + (
                    "<!-- after the visitor consents: prm('consent', true); -->\n"
                    if site.require_consent
                    else ""
                )
            )

    @api.constrains("allowed_origins")
    def _check_allowed_origins(self):
        for site in self:
            for line in site._origin_lines():
                if not normalize_origin(line.replace("*.", "", 1)):
                    raise ValidationError(
                        self.env._(
                            "'%(origin)s' is not an origin: write it as "
                            "https://www.example.com (scheme and host only).",
                            origin=line,
                        )
                    )

    def _origin_lines(self):
        self.ensure_one()
        return [
            line.strip()
            for line in (self.allowed_origins or "").splitlines()
            if line.strip()
        ]

    def _origin_allowed(self, origin):
        """True when a browser ``Origin`` header may send events for this site."""
        self.ensure_one()
        return origin_allowed(self._origin_lines(), origin)

    @api.model
    def _authenticate_secret(self, key):
        """The active site whose secret key is ``key`` (sudo), else empty."""
        if not isinstance(key, str) or not SECRET_KEY_RE.match(key):
            return self.browse()
        digest = hash_key(key)
        site = self.sudo().search([("secret_key_hash", "=", digest)], limit=1)
        if site and hmac.compare_digest(site.secret_key_hash, digest):
            return site
        return self.browse()

    @api.model
    def _from_public_key(self, key):
        """The active site with this public key (sudo), else empty."""
        if not isinstance(key, str) or not PUBLIC_KEY_RE.match(key):
            return self.browse()
        site_id = self._site_id_by_public_key(key)
        return self.sudo().browse(site_id) if site_id else self.browse()

    @api.model
    def _site_id_by_public_key(self, key):
        info = self._public_site_info(key)
        return info[0] if info else None

    @api.model
    @tools.ormcache("key")
    def _public_site_info(self, key):
        """(id, company id, require consent, public limit, visitor limit, IP
        limit) of the active site with this public key, or None; cached per
        registry (the pixel's hot path)."""
        site = self.sudo().search([("public_key", "=", key)], limit=1)
        if not site:
            return None
        return (
            site.id,
            site.company_id.id,
            site.require_consent,
            site.public_rate_limit,
            site.visitor_rate_limit,
            site.ip_rate_limit,
        )

    @api.model_create_multi
    def create(self, vals_list):
        self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        if {
            "public_key",
            "active",
            "company_id",
            "require_consent",
            "public_rate_limit",
            "visitor_rate_limit",
            "ip_rate_limit",
        } & set(vals):
            self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        # the sites' queued pixel hits become events first; hits that could
        # not be stored must be dealt with, never silently deleted
        hits = self.env["prm.pixel.hit"].sudo()
        hits._cron_flush(site_ids=self.ids)
        failed = hits.search_count([("site_id", "in", self.ids)])
        if failed:
            raise UserError(
                self.env._(
                    "%(count)s pixel hits of these sites could not be stored "
                    "(see Configuration > PRM > Pixel Queue): retry or delete "
                    "them first, or archive the site instead.",
                    count=failed,
                )
            )
        self.env.registry.clear_cache()
        return super().unlink()

    def action_generate_secret_key(self):
        """Create a new secret key, store only its hash, and show it once."""
        self.ensure_one()
        self.check_access("write")
        key = SECRET_PREFIX + secrets.token_urlsafe(32)
        self.sudo().write(
            {
                "secret_key": key,
                "secret_key_hash": hash_key(key),
                "secret_key_hint": "…" + key[-4:],
                "secret_key_date": fields.Datetime.now(),
            }
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("New secret key of %(site)s", site=self.name),
                "message": self.env._(
                    "Copy it now, it will not be shown again (the previous key, "
                    "if any, no longer works): %(key)s",
                    key=key,
                ),
                "sticky": True,
                "type": "warning",
                "next": {"type": "ir.actions.act_window_close"},
            },
            "prm_secret_key": key,
        }

    def action_rotate_public_key(self):
        """Replace the public key (pages must then embed the new snippet)."""
        for site in self:
            site.public_key = self._default_public_key()
        return True

    @api.readonly
    def action_view_events(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "prm_tracking.prm_engagement_report_action"
        )
        action["domain"] = [("site_id", "=", self.id)]
        action["context"] = {}
        return action

    def _count_rejected(self, count):
        """Count invalid pixel hits (one atomic UPDATE, no read-modify-write)."""
        self.env.cr.execute(
            SQL(
                "UPDATE prm_tracking_site "
                "SET rejected_count = COALESCE(rejected_count, 0) + %s WHERE id = %s",
                count,
                self.id,
            )
        )
        self.invalidate_recordset(["rejected_count"])
