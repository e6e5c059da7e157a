"""Hostile input against prm_tracking's pure engine: body parsing, event
validation, keys, origins and rate limits (no Odoo).

Every input either gives a clean event or raises ``EventError`` / ``BodyError``
with a message; nothing else may escape, and what is accepted can always be
stored (finite numbers, text without NUL or lone surrogates, bounded depth).
"""

import io
import json
import math
from datetime import datetime

import pytest
from conftest import load_engine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

engine = load_engine("prm_tracking")
body = __import__("prm_tracking_engine.body", fromlist=["x"])
keys = __import__("prm_tracking_engine.keys", fromlist=["x"])
origins = __import__("prm_tracking_engine.origins", fromlist=["x"])
ratelimit = __import__("prm_tracking_engine.ratelimit", fromlist=["x"])
events_mod = __import__("prm_tracking_engine.events", fromlist=["x"])

NOW = datetime(2026, 6, 15, 12, 0, 0)
TYPES = {"page_view", "identify", "registration", "email_click"}


def validate(raw):
    return engine.validate_event(raw, TYPES, NOW)


def storable(value):
    """True when PostgreSQL's jsonb/text would take ``value``."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    text.encode("utf-8")
    return "\\u0000" not in text and "\x00" not in text


def test_nan_and_huge_numbers_rejected_alone():
    """NaN, Infinity, 1e400 and 200-digit integers reject only their event."""
    payload = body.parse_events_body(
        b'{"events": [{"id": "a", "type": "page_view", "properties": {"x": NaN}},'
        b'{"id": "b", "type": "page_view", "properties": {"x": 1e400}},'
        b'{"id": "c", "type": "page_view", "properties": {"x": -Infinity}},'
        b'{"id": "d", "type": "page_view", "properties": {"x": ' + b"9" * 200 + b"}},"
        b'{"id": "e", "type": "page_view", "properties": {"x": 1.5, "n": 12}}]}'
    )
    for raw in payload["events"][:4]:
        with pytest.raises(engine.EventError, match="properties"):
            validate(raw)
    assert validate(payload["events"][4])["properties"] == {"x": 1.5, "n": 12}


def test_nul_and_surrogates():
    """NUL in properties and lone surrogates anywhere are refused with a reason;
    NUL in plain text fields is stripped."""
    with pytest.raises(engine.EventError, match="NUL"):
        validate({"id": "a", "type": "page_view", "properties": {"k": "a\x00b"}})
    with pytest.raises(engine.EventError, match="Unicode"):
        validate({"id": "a", "type": "page_view", "properties": {"k": "\ud800"}})
    with pytest.raises(engine.EventError, match="Unicode"):
        validate({"id": "a", "type": "page_view", "properties": {"\udfff": 1}})
    with pytest.raises(engine.EventError, match="title"):
        validate({"id": "a", "type": "page_view", "title": "x\udc80"})
    with pytest.raises(engine.EventError, match="email"):
        validate({"id": "a", "type": "identify", "email": "\ud800@example.com"})
    assert (
        validate({"id": "a", "type": "page_view", "title": "a\x00b"})["title"] == "ab"
    )


def test_deep_nesting():
    """A body nested past Python's recursion is a 400; deep properties reject
    their event alone."""
    deep = b'{"events": [' + b"[" * 100000 + b"]" * 100000 + b"]}"
    with pytest.raises(body.BodyError) as caught:
        body.parse_events_body(deep)
    assert caught.value.status == 400
    nested = {"a": 1}
    for _level in range(20):
        nested = {"a": nested}
    with pytest.raises(engine.EventError, match="nested deeper"):
        validate({"id": "a", "type": "page_view", "properties": nested})


def test_odd_emails_use_the_given_normalizer():
    """The email goes through the normalizer the models pass (Odoo's), and its
    unusable results are refused."""
    odoo_like = {"a(b)@example.com": "a@example.com", "x@y.z@w": "@w"}

    def normalizer(value):
        return odoo_like.get(value, value.lower())

    raw = {"id": "a", "type": "identify", "email": "a(b)@example.com"}
    assert (
        engine.validate_event(raw, TYPES, NOW, email_normalizer=normalizer)["email"]
        == "a@example.com"
    )
    raw["email"] = "x@y.z@w"
    with pytest.raises(engine.EventError, match="email"):
        engine.validate_event(raw, TYPES, NOW, email_normalizer=normalizer)
    raw["email"] = "x" * 400 + "@example.com"
    with pytest.raises(engine.EventError, match="email"):
        validate(raw)


def test_datetimes_out_of_range():
    """Timestamps no datetime can hold are rejected, never raised."""
    for value in (
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+23:59",
        1e300,
        -1e300,
        "nan",
    ):
        with pytest.raises(engine.EventError, match="occurred_at"):
            validate({"id": "a", "type": "page_view", "occurred_at": value})


def test_read_limited_stops_at_the_limit():
    """A body without Content-Length is read no further than the limit + 1."""

    class Endless(io.RawIOBase):
        served = 0

        def readable(self):
            return True

        def read(self, size=-1):
            self.served += size
            return b"x" * size

    stream = Endless()
    with pytest.raises(body.BodyError) as caught:
        body.read_limited(stream, None, max_bytes=1024 * 1024)
    assert caught.value.status == 413
    assert stream.served == 1024 * 1024 + 1


def test_signatures():
    """The identity signature is HMAC-SHA256(secret, email) in hex; anything
    else, another email or no secret fails."""
    secret = "prm_sk_" + "s" * 43
    signature = keys.sign_identity(secret, "jane@example.com")
    assert keys.identity_verified(secret, "jane@example.com", signature.upper())
    assert not keys.identity_verified(secret, "john@example.com", signature)
    assert not keys.identity_verified(None, "jane@example.com", signature)
    assert not keys.identity_verified(secret, "jane@example.com", "")
    assert not keys.identity_verified(secret, "jane@example.com", "\ud800")


def test_rate_limiter_budgets_are_separate_and_reset():
    """Budgets count per key and minute; one full budget blocks only its own."""
    now = [0.0]
    limiter = ratelimit.RateLimiter(clock=lambda: now[0])
    assert limiter.allow(("public", 1), 5, 5)
    assert not limiter.allow(("public", 1), 5, 1)
    assert limiter.allow(("api", 1), 5, 5)  # the secret API has its own
    now[0] = 60.0
    assert limiter.allow(("public", 1), 5, 5)  # a new minute


# ---------------------------------------------------------------------------
# property-based: whatever comes in, a clean event or EventError
# ---------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**60), max_value=10**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=8), children, max_size=4),
    ),
    max_leaves=30,
)
fields_ = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.text(max_size=140), st.integers(), json_values),
        "type": st.one_of(st.sampled_from(sorted(TYPES)), json_values),
        "occurred_at": st.one_of(
            st.datetimes().map(lambda d: d.isoformat()),
            st.floats(),
            st.integers(),
            json_values,
        ),
        "visitor": st.one_of(st.text(max_size=70), json_values),
        "email": st.one_of(st.emails(), st.text(max_size=60), json_values),
        "url": st.one_of(st.text(max_size=60), json_values),
        "title": st.one_of(st.text(max_size=60), json_values),
        "referrer": st.one_of(st.text(max_size=60), json_values),
        "utm": st.one_of(
            st.dictionaries(st.text(max_size=8), json_values), json_values
        ),
        "profile": st.one_of(
            st.dictionaries(
                st.sampled_from(
                    ["name", "country", "company_size", "age_band", "interests"]
                ),
                json_values,
            ),
            json_values,
        ),
        "properties": json_values,
        "signature": json_values,
    },
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(fields_)
def test_validator_never_raises_anything_else(raw):
    """Any event gives a storable clean event or an EventError, nothing else."""
    try:
        event = validate(raw)
    except engine.EventError as exc:
        assert str(exc)
        return
    assert storable(event["properties"])
    for key in ("id", "url", "title", "referrer", "email", "visitor"):
        value = event[key]
        assert value is None or (isinstance(value, str) and storable(value))
    for value in event["utm"].values():
        assert storable(value)
    assert storable(event["profile"])


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_body_parser_on_random_bytes(data):
    """Random bytes parse to a payload or a 400/413 BodyError, nothing else."""
    try:
        payload = body.parse_events_body(data)
    except body.BodyError as exc:
        assert exc.status in (400, 413)
        return
    assert isinstance(payload["events"], list)


@settings(max_examples=200)
@given(st.lists(json_values, max_size=5))
def test_body_parser_on_any_json(events):
    """Any JSON events list parses, with unstorable numbers marked, never lost."""
    text = json.dumps({"events": events}, allow_nan=True)
    payload = body.parse_events_body(text.encode())
    assert len(payload["events"]) == len(events)

    def finite(value):
        if isinstance(value, float):
            return math.isfinite(value)
        if isinstance(value, dict):
            return all(finite(v) for v in value.values())
        if isinstance(value, list):
            return all(finite(v) for v in value)
        return True

    assert finite(payload["events"])


@given(st.text(max_size=80))
def test_origin_matching_never_raises(value):
    """Any Origin header gives True or False, and a non-URL never matches."""
    allowed = origins.origin_allowed(["https://www.example.com"], value)
    assert allowed in (True, False)
    if not value.lower().strip().startswith("https://www.example.com"):
        assert allowed is False
