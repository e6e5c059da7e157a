"""Validation and normalization of incoming tracking events.

One function, :func:`validate_event`, turns what a client sent (one element of
the ``events`` list of the tracking API, see the design's API section) into a
clean dict ready to store, or raises :class:`EventError` with a message that
names the faulty field.  It never touches a database: the caller passes the
event type codes it knows and the current time.
"""

import json
import math
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

MAX_EVENTS = 1000  # per request
MAX_BODY_BYTES = 1024 * 1024  # 1 MiB per request
MAX_ID = 128
MAX_TEXT = 2048  # url, title, referrer
MAX_NAME = 128  # utm values, profile values
MAX_PROPERTIES_BYTES = 8192
MAX_PROPERTIES_DEPTH = 8  # nesting levels inside ``properties``
MAX_SIGNATURE = 128
MAX_EMAIL_INPUT = 320  # longer raw addresses are refused before parsing
FUTURE_TOLERANCE = timedelta(minutes=5)  # clock skew we accept
MAX_AGE = timedelta(days=5 * 366)  # older than this is surely a client bug

TOKEN_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
ID_RE = re.compile(r"^[\x21-\x7e]{1,%d}$" % MAX_ID)  # printable ASCII, no space
EMAIL_RE = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
COUNTRY_RE = re.compile(r"^[A-Za-z]{2}$")

COMPANY_SIZES = {
    "1_10": ("1-10", "1_10", "1 to 10"),
    "11_50": ("11-50", "11_50", "11 to 50"),
    "51_200": ("51-200", "51_200", "51 to 200"),
    "201_1000": ("201-1000", "201_1000", "201 to 1000"),
    "1001_plus": ("1001+", "1000+", "1001_plus", "more than 1000"),
}
AGE_BANDS = {
    "18_24": ("18-24", "18_24"),
    "25_34": ("25-34", "25_34"),
    "35_44": ("35-44", "35_44"),
    "45_54": ("45-54", "45_54"),
    "55_64": ("55-64", "55_64"),
    "65_plus": ("65+", "65_plus"),
}
PROFILE_TEXT = ("name", "company", "function", "industry", "phone")


class EventError(ValueError):
    """An event that cannot be stored; the message says which field and why."""


class InvalidNumber:
    """What the body parser puts where JSON holds a number nothing can store
    (``NaN``, ``Infinity``, ``1e400``, a 200-digit integer): the event that
    carries it is rejected alone, the rest of the request is kept."""

    def __init__(self, text):
        self.text = text[:40]

    def __repr__(self):
        return f"InvalidNumber({self.text!r})"


def is_valid_text(value):
    """True when ``value`` can be stored as text (no lone UTF-16 surrogate).

    >>> is_valid_text("caf\u00e9"), is_valid_text(chr(0xD800))
    (True, False)
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def checked_email(value):
    """``value`` when it is a usable normalized address, else ``None``.

    Applied to what Odoo's own normalization returns, it refuses what that
    normalization leaves unusable (``x@y.z@w`` gives ``@w``; quoted parts).

    >>> checked_email("jane@example.com"), checked_email("@w")
    ('jane@example.com', None)
    """
    if not isinstance(value, str) or not value or len(value) > 254:
        return None
    return value if EMAIL_RE.match(value) and is_valid_text(value) else None


def normalize_email(value):
    """Lower-cased, trimmed email, or ``None`` when it is not an email: the
    pure fallback of Odoo's ``email_normalize`` (the models pass Odoo's own).

    >>> normalize_email("  Jane.Doe@Example.COM ")
    'jane.doe@example.com'
    >>> normalize_email("Jane <jane@example.com>")
    'jane@example.com'
    """
    if not isinstance(value, str):
        return None
    value = value.strip()
    match = re.search(r"<([^<>]+)>\s*$", value)
    if match:
        value = match.group(1)
    return checked_email(value.strip().lower())


def _text(event, key, limit=MAX_TEXT, required=False):
    value = event.get(key)
    if value is None or value == "":
        if required:
            raise EventError(f"{key}: required")
        return None
    if not isinstance(value, str):
        raise EventError(f"{key}: must be a string")
    if not is_valid_text(value):
        raise EventError(f"{key}: not valid Unicode text")
    value = value.replace("\x00", "").strip()
    if len(value) > limit:
        raise EventError(f"{key}: longer than {limit} characters")
    return value or None


def _url(event, key):
    value = _text(event, key)
    if value is None:
        return None
    try:
        parts = urlsplit(value)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket: "http://[x"
        raise EventError(f"{key}: not a valid URL") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise EventError(f"{key}: must be an absolute http(s) URL")
    return value


def parse_datetime(value, now):
    """Parse an ISO 8601 datetime (or epoch seconds) into naive UTC."""
    if isinstance(value, bool):
        raise EventError("occurred_at: must be an ISO 8601 datetime")
    if isinstance(value, int | float):
        try:
            moment = datetime.fromtimestamp(value, tz=timezone.utc)
        except (OverflowError, OSError, ValueError) as exc:
            raise EventError("occurred_at: out of range") from exc
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as exc:
            raise EventError(
                "occurred_at: not an ISO 8601 datetime (e.g. 2026-01-31T12:00:00Z)"
            ) from exc
    else:
        raise EventError("occurred_at: must be an ISO 8601 datetime")
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
        except (OverflowError, ValueError) as exc:
            raise EventError("occurred_at: out of range") from exc
    moment = moment.replace(microsecond=0)
    if moment > now + FUTURE_TOLERANCE:
        raise EventError("occurred_at: in the future")
    if moment < now - MAX_AGE:
        raise EventError("occurred_at: more than 5 years ago")
    return moment


def _choice(value, table, key):
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise EventError(f"profile.{key}: must be a string")
    wanted = value.strip().lower()
    for code, aliases in table.items():
        if wanted in aliases:
            return code
    raise EventError(
        f"profile.{key}: unknown value (expected one of "
        + ", ".join(aliases[0] for aliases in table.values())
        + ")"
    )


def _profile(raw):
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise EventError("profile: must be an object")
    profile = {}
    for key in PROFILE_TEXT:
        value = _text(raw, key, limit=MAX_NAME)
        if value:
            profile[key] = value
    country = raw.get("country")
    if country not in (None, ""):
        if not isinstance(country, str) or not COUNTRY_RE.match(country.strip()):
            raise EventError("profile.country: must be an ISO 3166 two-letter code")
        profile["country"] = country.strip().upper()
    size = _choice(raw.get("company_size"), COMPANY_SIZES, "company_size")
    if size:
        profile["company_size"] = size
    band = _choice(raw.get("age_band"), AGE_BANDS, "age_band")
    if band:
        profile["age_band"] = band
    interests = raw.get("interests")
    if interests not in (None, []):
        if not isinstance(interests, list) or not all(
            isinstance(i, str) for i in interests
        ):
            raise EventError("profile.interests: must be a list of strings")
        if not all(is_valid_text(i) for i in interests):
            raise EventError("profile.interests: not valid Unicode text")
        cleaned = sorted(
            {i.replace("\x00", "").strip()[:MAX_NAME] for i in interests} - {""}
        )
        if len(cleaned) > 50:
            raise EventError("profile.interests: at most 50 interests")
        profile["interests"] = cleaned
    return profile


def _utm(raw):
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise EventError("utm: must be an object")
    utm = {}
    for key in ("source", "medium", "campaign"):
        value = _text(raw, key, limit=MAX_NAME)
        if value:
            utm[key] = value
    return utm


def _check_json_value(raw):
    """Raise :class:`EventError` unless ``raw`` (the ``properties`` object)
    holds only what PostgreSQL's ``jsonb`` stores: finite numbers, text
    without NUL or lone surrogates, string keys, at most
    ``MAX_PROPERTIES_DEPTH`` levels.  Iterative: no depth can overflow it."""
    stack = [(raw, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_PROPERTIES_DEPTH:
                raise EventError(
                    f"properties: nested deeper than {MAX_PROPERTIES_DEPTH} levels"
                )
            if isinstance(value, dict):
                for key in value:
                    if not isinstance(key, str):
                        raise EventError("properties: keys must be strings")
                    stack.append((key, depth))
                items = value.values()
            else:
                items = value
            stack.extend((item, depth + 1) for item in items)
        elif isinstance(value, str):
            if "\x00" in value:
                raise EventError("properties: text may not contain NUL characters")
            if not is_valid_text(value):
                raise EventError("properties: not valid Unicode text")
        elif isinstance(value, InvalidNumber):
            raise EventError(
                f"properties: {value.text} is not a number that can be stored"
            )
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise EventError("properties: numbers must be finite")
        elif value is not None and not isinstance(value, bool | int):
            raise EventError("properties: not serializable as JSON")


def _properties(raw):
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise EventError("properties: must be an object")
    _check_json_value(raw)
    try:
        size = len(json.dumps(raw, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise EventError("properties: not serializable as JSON") from exc
    if size > MAX_PROPERTIES_BYTES:
        raise EventError(f"properties: larger than {MAX_PROPERTIES_BYTES} bytes")
    return raw or None


def _signature(raw):
    value = raw.get("signature")
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > MAX_SIGNATURE:
        raise EventError("signature: must be the hexadecimal HMAC-SHA256 digest")
    return value.strip().lower()


def validate_event(
    raw, known_types, now, require_visitor=False, email_normalizer=normalize_email
):
    """Return the clean event, or raise :class:`EventError`.

    :param raw: one element of the request's ``events`` list
    :param known_types: the active event type codes
    :param now: current time, naive UTC
    :param require_visitor: browser/pixel events must name their visitor
    :param email_normalizer: turns a raw address into its normalized form,
        or a false value (the models pass Odoo's ``email_normalize``); what it
        returns must also pass :func:`checked_email`
    """
    if not isinstance(raw, dict):
        raise EventError("event: must be an object")
    event_id = raw.get("id")
    if event_id is None or event_id == "":
        raise EventError("id: required")
    if isinstance(event_id, int) and not isinstance(event_id, bool):
        event_id = str(event_id)
    if not isinstance(event_id, str) or not ID_RE.match(event_id):
        raise EventError(f"id: must be 1 to {MAX_ID} printable characters")
    code = raw.get("type")
    if not isinstance(code, str) or not code:
        raise EventError("type: required")
    if code not in known_types:
        raise EventError(f"type: unknown event type {ascii(code[:40])}")
    occurred = raw.get("occurred_at")
    occurred_at = now.replace(microsecond=0) if occurred is None else None
    if occurred_at is None:
        occurred_at = parse_datetime(occurred, now)
    visitor = raw.get("visitor")
    if visitor in (None, ""):
        if require_visitor:
            raise EventError("visitor: required")
        visitor = None
    elif not isinstance(visitor, str) or not TOKEN_RE.match(visitor):
        raise EventError("visitor: 1 to 64 letters, digits or _ . : -")
    email = None
    raw_email = raw.get("email")
    if raw_email not in (None, ""):
        if (
            not isinstance(raw_email, str)
            or len(raw_email) > MAX_EMAIL_INPUT
            or not is_valid_text(raw_email)
        ):
            raise EventError("email: not a valid email address")
        email = checked_email(email_normalizer(raw_email.replace("\x00", "")))
        if not email:
            raise EventError("email: not a valid email address")
    if code in ("identify", "registration") and not email and not visitor:
        raise EventError(f"{code}: needs an email or a visitor")
    return {
        "id": event_id,
        "type": code,
        "occurred_at": occurred_at,
        "visitor": visitor,
        "email": email,
        "url": _url(raw, "url"),
        "title": _text(raw, "title"),
        "referrer": _url(raw, "referrer"),
        "utm": _utm(raw.get("utm")),
        "profile": _profile(raw.get("profile")),
        "properties": _properties(raw.get("properties")),
        "user_agent": _text(raw, "user_agent", limit=512),
        "signature": _signature(raw),
    }
