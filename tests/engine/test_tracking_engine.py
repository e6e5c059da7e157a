"""Pure tests of prm_tracking's event validation and bot rules (no Odoo)."""

import doctest
from datetime import datetime, timedelta

import pytest
from conftest import load_engine

engine = load_engine("prm_tracking")
NOW = datetime(2026, 6, 15, 12, 0, 0)
TYPES = {"page_view", "identify", "email_click"}


def check(**raw):
    event = {"id": "e1", "type": "page_view"}
    event.update(raw)
    return engine.validate_event(event, TYPES, NOW)


def test_defaults_and_normalization():
    """A minimal event gets `now`, a clean email and empty utm/profile."""
    event = check(
        email="  Jane.Doe@Example.COM ", occurred_at="2026-06-15T11:00:00+02:00"
    )
    assert event["occurred_at"] == datetime(2026, 6, 15, 9, 0, 0)
    assert event["email"] == "jane.doe@example.com"
    assert (event["utm"], event["profile"]) == ({}, {})
    assert check()["occurred_at"] == NOW


def test_epoch_and_clock_skew():
    """Epoch seconds work; a few minutes of clock skew are tolerated, not hours."""
    assert check(occurred_at=NOW.timestamp() - 7200)["occurred_at"] < NOW
    assert check(occurred_at=(NOW + timedelta(minutes=3)).isoformat())
    with pytest.raises(engine.EventError, match="future"):
        check(occurred_at=(NOW + timedelta(hours=1)).isoformat())


@pytest.mark.parametrize(
    "raw,message",
    [
        ({"id": ""}, "id: required"),
        ({"id": "has space"}, "id:"),
        ({"type": "nope"}, "unknown event type"),
        ({"url": "javascript:alert(1)"}, "http"),
        ({"url": "/relative"}, "http"),
        ({"visitor": "x" * 65}, "visitor"),
        ({"utm": ["google"]}, "utm"),
        ({"profile": {"country": "Belgium"}}, "country"),
        ({"profile": {"age_band": "young"}}, "age_band"),
        ({"profile": {"interests": "crm"}}, "interests"),
        ({"properties": {"x": "y" * 9000}}, "properties"),
        ({"title": "t" * 3000}, "title"),
        ({"type": "identify"}, "needs an email or a visitor"),
    ],
)
def test_rejections(raw, message):
    """Each kind of bad field is rejected with a message naming it."""
    with pytest.raises(engine.EventError, match=message):
        check(**raw)


def test_profile_values():
    """Declared sizes, age bands and interests map to stored codes."""
    event = check(
        type="identify",
        email="a@b.co",
        profile={
            "company_size": "1000+",
            "age_band": "65+",
            "interests": ["b", "a", "a"],
        },
    )
    assert event["profile"] == {
        "company_size": "1001_plus",
        "age_band": "65_plus",
        "interests": ["a", "b"],
    }


def test_bot_rules():
    """User agents, HEAD, prefetch and instant clicks are bots; browsers are not."""
    assert engine.bot_reason("curl/8.1") == "user agent: curl"
    assert engine.bot_reason("") == "no user agent"
    assert engine.bot_reason("Mozilla/5.0", method="HEAD") == "HEAD request"
    assert engine.bot_reason("Mozilla/5.0", headers={"Purpose": "prefetch"})
    assert (
        engine.bot_reason(None, seconds_after_delivery=30, kind="email_click") is None
    )
    assert engine.bot_reason("Mozilla/5.0 (Macintosh) Safari/605.1.15") is None


def test_doctests():
    """The examples in the engine's docstrings hold."""
    for module in (
        engine.events,
        engine.bots,
        __import__("prm_tracking_engine.body", fromlist=["x"]),
        __import__("prm_tracking_engine.keys", fromlist=["x"]),
        __import__("prm_tracking_engine.origins", fromlist=["x"]),
        __import__("prm_tracking_engine.ratelimit", fromlist=["x"]),
    ):
        assert doctest.testmod(module).failed == 0


def test_trigger_sql_helpers():
    """The trigger DDL helpers shared by the Engagement counts and the lead
    facts drop each trigger before creating it again; their examples hold."""
    from conftest import REPO, load_file

    schema = load_file(
        "prm_tracking_schema", REPO / "prm_tracking" / "tools" / "schema.py"
    )
    assert doctest.testmod(schema).failed == 0
    sql = schema.triggers_sql([("a", "t", "AFTER DELETE", "X"), ("b", "u", "E", "Y")])
    assert sql.splitlines() == [
        "DROP TRIGGER IF EXISTS a ON t;",
        "CREATE TRIGGER a AFTER DELETE ON t X;",
        "DROP TRIGGER IF EXISTS b ON u;",
        "CREATE TRIGGER b E ON u Y;",
    ]
