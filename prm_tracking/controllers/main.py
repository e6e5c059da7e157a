# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Public tracking endpoints (design §5).

They validate, authenticate the site by its key, and hand the batch to one
model method (``prm.ingest._ingest``); they never read other records back to
the caller, and their answers never tell whether a person is known.
"""

import base64
import hmac
import logging
import uuid
from pathlib import Path

from psycopg2 import Error as PsycopgError
from psycopg2 import errorcodes

from odoo import SUPERUSER_ID, fields, http
from odoo.http import request

from ..engine.body import BodyError, parse_events_body, read_limited
from ..engine.bots import PREFETCH_HEADERS
from ..engine.events import MAX_BODY_BYTES
from ..engine.keys import PUBLIC_KEY_RE
from ..engine.origins import normalize_origin
from ..engine.ratelimit import RateLimiter

_logger = logging.getLogger(__name__)

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
TRACKER_JS = Path(__file__).parents[1] / "static" / "src" / "tracker" / "tracker.js"
RETRYABLE = {
    errorcodes.SERIALIZATION_FAILURE,
    errorcodes.DEADLOCK_DETECTED,
    errorcodes.LOCK_NOT_AVAILABLE,
}
PIXEL_FIELDS = {
    "i": "id",
    "t": "type",
    "v": "visitor",
    "u": "url",
    "ti": "title",
    "r": "referrer",
    "e": "email",
    "s": "signature",
}
PIXEL_UTM = {"us": "source", "um": "medium", "uc": "campaign"}
PIXEL_VALUE_MAX = 4096  # characters kept of each pixel parameter
# per process; the secret API and the public channels have separate budgets
RATE_LIMITER = RateLimiter()


def _error(status, code, message, headers=None):
    return request.make_json_response(
        {"error": code, "message": message}, headers=headers, status=status
    )


def _read_payload():
    """(payload, error response): the JSON body, read at most 1 MiB deep
    (a chunked body without Content-Length included), checked in shape.

    The bytes are kept on the request: when Odoo retries the request after a
    serialization failure, the retry parses the same body again."""
    httpreq = request.httprequest
    # Odoo's request wrapper does not expose the input stream, and Werkzeug
    # 2.2's get_data() reads a chunked body whole whatever its size: read the
    # underlying stream ourselves, never more than the limit
    wrapped = getattr(httpreq, "_HTTPRequest__wrapped", httpreq)
    try:
        data = getattr(wrapped, "_prm_body", None)
        if data is None:
            data = read_limited(wrapped.stream, httpreq.content_length, MAX_BODY_BYTES)
            wrapped._prm_body = data
        return parse_events_body(data), None
    except BodyError as exc:
        return None, _error(exc.status, exc.code, str(exc))


def _privacy_signal():
    headers = request.httprequest.headers
    return headers.get("DNT") == "1" or headers.get("Sec-GPC") == "1"


def _browser_hit():
    """What the ingestion needs to know about a browser's request."""
    httpreq = request.httprequest
    return {
        "user_agent": httpreq.headers.get("User-Agent", ""),
        "method": httpreq.method,
        "headers": dict(httpreq.headers),
        "require_visitor": True,
    }


def public_budgets(site_id, limits, ip, visitors):
    """The rate budgets a public request draws on: the site's public budget,
    its IP's and each of its visitors' (``visitors``: {token: events})."""
    public_limit, visitor_limit, ip_limit = limits
    count = sum(visitors.values()) or 1
    budgets = [(_budget_key("public", site_id), public_limit, count)]
    budgets.append((_budget_key("ip", site_id, ip), ip_limit, count))
    budgets.extend(
        (_budget_key("visitor", site_id, token), visitor_limit, n)
        for token, n in visitors.items()
    )
    return budgets


def _visitor_counts(events):
    counts = {}
    for event in events:
        token = event.get("visitor") if isinstance(event, dict) else None
        key = token if isinstance(token, str) else ""
        counts[key[:64]] = counts.get(key[:64], 0) + 1
    return counts


def _ingest(site, events, origin, **kwargs):
    env = request.env(user=SUPERUSER_ID, su=True)
    ingest = env["prm.ingest"]
    ingest._read_committed()
    return (
        ingest.with_company(site.company_id)
        .with_context(tracking_disable=True)
        ._ingest(events, site=site.with_env(env), origin=origin, **kwargs)
    )


def _budget_key(*parts):
    """A rate-limit key of this database (one server may serve several)."""
    return (request.db, *parts)


def _pixel_values(kw, params):
    """Pixel parameters as event fields: text only, truncated, without NUL."""
    return {
        field: kw[param][:PIXEL_VALUE_MAX].replace("\x00", "")
        for param, field in params.items()
        if isinstance(kw.get(param), str) and kw.get(param)
    }


class PrmTrackingController(http.Controller):
    @http.route(
        "/prm/api/v1/events",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
        max_content_length=MAX_BODY_BYTES,
    )
    def api_events(self, **_kw):
        """Server-to-server ingestion, authenticated by the site's secret key."""
        httpreq = request.httprequest
        auth = httpreq.headers.get("Authorization", "")
        key = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        site = request.env["prm.tracking.site"]._authenticate_secret(key)
        if not site:
            return _error(
                401,
                "invalid_key",
                "Missing or invalid secret key (Authorization: Bearer <secret key>).",
                headers={"WWW-Authenticate": "Bearer"},
            )
        payload, error = _read_payload()
        if error:
            return error
        events = payload["events"]
        if not RATE_LIMITER.allow(
            _budget_key("api", site.id), site.rate_limit, len(events)
        ):
            return _error(
                429,
                "rate_limited",
                f"More than {site.rate_limit} events per minute: retry later.",
                headers={"Retry-After": "60"},
            )
        report = _ingest(site, events, "api")
        return request.make_json_response(report)

    @http.route(
        "/prm/api/v1/collect",
        type="http",
        auth="public",
        methods=["POST", "OPTIONS"],
        csrf=False,
        save_session=False,
        max_content_length=MAX_BODY_BYTES,
    )
    def collect(self, **_kw):
        """Browser ingestion (sendBeacon): public key in the body, origin checked."""
        origin = request.httprequest.headers.get("Origin")
        if request.httprequest.method == "OPTIONS":
            sites = request.env["prm.tracking.site"].sudo().search([])
            if origin and any(site._origin_allowed(origin) for site in sites):
                return request.make_response("", headers=self._cors(origin), status=204)
            return request.make_response("", status=403)
        payload, error = _read_payload()
        if error:
            return error
        site = request.env["prm.tracking.site"]._from_public_key(
            payload.get("public_key")
        )
        if not site:
            return _error(401, "invalid_key", "Missing or unknown public_key.")
        if not origin:  # some browsers omit Origin on same-site beacons
            origin = request.httprequest.headers.get("Referer")
        if not site._origin_allowed(origin):
            return _error(
                403,
                "origin_not_allowed",
                "This origin may not send events for this site.",
            )
        headers = self._cors(normalize_origin(origin))
        events = payload["events"]
        if _privacy_signal() or (
            site.require_consent and payload.get("consent") is not True
        ):
            report = {
                "accepted": 0,
                "duplicates": 0,
                "rejected": [],
                "dropped": len(events),
            }
            return request.make_json_response(report, headers=headers)
        limits = (site.public_rate_limit, site.visitor_rate_limit, site.ip_rate_limit)
        budgets = public_budgets(
            site.id, limits, request.httprequest.remote_addr, _visitor_counts(events)
        )
        if not RATE_LIMITER.allow_all(budgets):
            return _error(
                429,
                "rate_limited",
                "Too many events: retry later.",
                headers=dict(headers, **{"Retry-After": "60"}),
            )
        report = _ingest(site, events, "browser", **_browser_hit())
        return request.make_json_response(report, headers=headers)

    @staticmethod
    def _cors(origin):
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "86400",
            "Vary": "Origin",
        }

    @http.route(
        "/prm/p.gif",
        type="http",
        auth="none",
        methods=["GET", "HEAD"],
        csrf=False,
        save_session=False,
        readonly=False,
    )
    def pixel(self, **kw):
        """Always a 1x1 GIF; a hit is queued and becomes an event (or, when
        invalid, is counted on the site) at the next run of the flush job."""
        try:
            self._pixel_hit(kw)
        except PsycopgError as exc:
            if exc.pgcode in RETRYABLE:
                raise  # let Odoo retry the request
            request.env.cr.rollback()
            _logger.warning("PRM pixel hit dropped: %s", exc)
        except Exception:  # noqa: BLE001 - a pixel never answers with an error page
            request.env.cr.rollback()
            _logger.exception("PRM pixel hit dropped")
        return request.make_response(
            GIF,
            headers={
                "Content-Type": "image/gif",
                "Cache-Control": "no-store, no-cache, must-revalidate, max-age=0",
                "Pragma": "no-cache",
            },
        )

    def _pixel_hit(self, kw):
        """Queue a valid hit (turned into an event by the flush job, in
        batches: see prm.pixel.hit); drop it under DNT/GPC or without consent."""
        env = request.env(user=SUPERUSER_ID, su=True)
        key = kw.get("k")
        info = (
            env["prm.tracking.site"]._public_site_info(key)
            if isinstance(key, str) and PUBLIC_KEY_RE.match(key)
            else None
        )
        if not info or _privacy_signal():
            return
        site_id, company_id, require_consent = info[:3]
        if require_consent and kw.get("c") != "1":
            return
        httpreq = request.httprequest
        hits = env["prm.pixel.hit"]
        visitor = kw.get("v") if isinstance(kw.get("v"), str) else ""
        budgets = public_budgets(
            site_id, info[3:], httpreq.remote_addr, {visitor[:64]: 1}
        )
        if not RATE_LIMITER.allow_all(budgets) or hits._queue_full():
            hits._count_dropped(site_id)
            return
        received_at = fields.Datetime.now()
        # values are checked when the queue is stored; only their size here
        # (and no NUL, which no text column takes)
        event = _pixel_values(kw, PIXEL_FIELDS)
        event.setdefault("id", "px-" + uuid.uuid4().hex)
        event.setdefault("type", "page_view")
        event["occurred_at"] = received_at.isoformat()
        event["user_agent"] = httpreq.headers.get("User-Agent", "")
        utm = _pixel_values(kw, PIXEL_UTM)
        if utm:
            event["utm"] = utm
        headers = {
            name: httpreq.headers[name]
            for name in PREFETCH_HEADERS
            if httpreq.headers.get(name)
        }
        hits._enqueue(site_id, company_id, event, httpreq.method, headers, received_at)

    @http.route(
        "/prm/confirm/<int:lead_id>/<string:token>",
        type="http",
        auth="public",
        methods=["GET", "POST"],
        website=True,
        sitemap=False,
    )
    def confirm_identity(self, lead_id, token, **_kw):
        """Double opt-in: the link mailed to an unverified lead's address.
        A GET shows the button, the POST (CSRF-checked) confirms."""
        lead = request.env["crm.lead"].sudo().browse(lead_id).exists()
        valid = bool(lead) and hmac.compare_digest(
            lead._prm_confirmation_token().encode(),
            (token or "").encode("utf-8", "replace"),
        )
        values = {"state": "invalid", "email": "", "action": ""}
        if valid:
            values.update(
                email=lead.email_normalized,
                action=f"/prm/confirm/{lead.id}/{token}",
                state="ask",
            )
            if request.httprequest.method == "POST":
                lead._prm_verify_identity(
                    request.env._(
                        "Email address confirmed by its owner (double opt-in)."
                    )
                )
                values["state"] = "done"
        return request.render(
            "prm_tracking.prm_identity_confirmation_page",
            values,
            status=200 if valid else 404,
        )

    @http.route(
        "/prm/tracker.js",
        type="http",
        auth="none",
        methods=["GET"],
        csrf=False,
        save_session=False,
    )
    def tracker_js(self, **_kw):
        """The browser snippet's script (cacheable for an hour)."""
        return request.make_response(
            TRACKER_JS.read_bytes(),
            headers={
                "Content-Type": "application/javascript; charset=utf-8",
                "Cache-Control": "public, max-age=3600",
                "Access-Control-Allow-Origin": "*",
            },
        )
