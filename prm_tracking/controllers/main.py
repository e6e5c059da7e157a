# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Public tracking endpoints (design §5).

They validate, authenticate the site by its key, and hand the batch to one
model method (``prm.event._ingest``); they never read other records back to
the caller, and their answers never tell whether a person is known.
"""

import base64
import json
import logging
import threading
import time
import uuid
from pathlib import Path

from psycopg2 import Error as PsycopgError
from psycopg2 import errorcodes

from odoo import SUPERUSER_ID, fields, http
from odoo.http import request

from ..engine.bots import PREFETCH_HEADERS
from ..engine.events import MAX_BODY_BYTES, MAX_EVENTS
from ..models.prm_tracking_site import normalize_origin

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
}
PIXEL_UTM = {"us": "source", "um": "medium", "uc": "campaign"}
PIXEL_VALUE_MAX = 4096  # characters kept of each pixel parameter


class RateLimiter:
    """Events per minute per site, counted in this server process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._windows = {}

    def allow(self, site_id, limit, count):
        if not limit:
            return True
        minute = int(time.time() // 60)
        with self._lock:
            window, used = self._windows.get(site_id, (minute, 0))
            if window != minute:
                window, used = minute, 0
            if used + count > limit:
                self._windows[site_id] = (window, used)
                return False
            self._windows[site_id] = (window, used + count)
            return True


RATE_LIMITER = RateLimiter()


def _error(status, code, message, headers=None):
    return request.make_json_response(
        {"error": code, "message": message}, headers=headers, status=status
    )


def _read_json(max_bytes=MAX_BODY_BYTES):
    """(payload, error response): the JSON body, size-checked."""
    httpreq = request.httprequest
    if httpreq.content_length and httpreq.content_length > max_bytes:
        return None, _error(
            413, "too_large", f"The body is larger than {max_bytes} bytes."
        )
    data = httpreq.get_data(cache=True)
    if len(data) > max_bytes:
        return None, _error(
            413, "too_large", f"The body is larger than {max_bytes} bytes."
        )
    try:
        payload = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return None, _error(400, "malformed_json", f"The body is not valid JSON: {exc}")
    if not isinstance(payload, dict):
        return None, _error(400, "malformed_body", "The body must be a JSON object.")
    events = payload.get("events")
    if not isinstance(events, list):
        return None, _error(400, "malformed_body", "'events' must be a list of events.")
    if len(events) > MAX_EVENTS:
        return None, _error(
            413, "too_many_events", f"At most {MAX_EVENTS} events per request."
        )
    return payload, None


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


def _ingest(site, events, origin, **kwargs):
    env = request.env(user=SUPERUSER_ID, su=True)
    return (
        env["prm.event"]
        .with_company(site.company_id)
        .with_context(tracking_disable=True)
        ._ingest(events, site=site.with_env(env), origin=origin, **kwargs)
    )


class PrmTrackingController(http.Controller):
    @http.route(
        "/prm/api/v1/events",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def api_events(self, **_kw):
        """Server-to-server ingestion, authenticated by the site's secret key."""
        httpreq = request.httprequest
        if httpreq.content_length and httpreq.content_length > MAX_BODY_BYTES:
            return _error(
                413, "too_large", f"The body is larger than {MAX_BODY_BYTES} bytes."
            )
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
        payload, error = _read_json()
        if error:
            return error
        events = payload["events"]
        if not RATE_LIMITER.allow(site.id, site.rate_limit, len(events)):
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
    )
    def collect(self, **_kw):
        """Browser ingestion (sendBeacon): public key in the body, origin checked."""
        origin = request.httprequest.headers.get("Origin")
        if request.httprequest.method == "OPTIONS":
            sites = request.env["prm.tracking.site"].sudo().search([])
            if origin and any(site._origin_allowed(origin) for site in sites):
                return request.make_response("", headers=self._cors(origin), status=204)
            return request.make_response("", status=403)
        payload, error = _read_json()
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
        if not RATE_LIMITER.allow(site.id, site.rate_limit, len(events)):
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
            if isinstance(key, str) and key.startswith("prm_pk_") and len(key) < 100
            else None
        )
        if not info or _privacy_signal():
            return
        site_id, company_id, require_consent = info
        if require_consent and kw.get("c") != "1":
            return
        httpreq = request.httprequest
        received_at = fields.Datetime.now()
        # values are checked when the queue is stored; only their size here
        event = {
            field: kw[param][:PIXEL_VALUE_MAX]
            for param, field in PIXEL_FIELDS.items()
            if kw.get(param)
        }
        event.setdefault("id", "px-" + uuid.uuid4().hex)
        event.setdefault("type", "page_view")
        event["occurred_at"] = received_at.isoformat()
        event["user_agent"] = httpreq.headers.get("User-Agent", "")
        utm = {
            field: kw[param][:PIXEL_VALUE_MAX]
            for param, field in PIXEL_UTM.items()
            if kw.get(param)
        }
        if utm:
            event["utm"] = utm
        headers = {
            name: httpreq.headers[name]
            for name in PREFETCH_HEADERS
            if httpreq.headers.get(name)
        }
        env["prm.pixel.hit"]._enqueue(
            site_id, company_id, event, httpreq.method, headers, received_at
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
