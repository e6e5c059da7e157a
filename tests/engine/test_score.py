"""Pure tests of prm_scoring's score engine (no Odoo)."""

import doctest
import importlib
import random
import struct
from datetime import datetime, timedelta

import numpy as np
import pytest
from conftest import load_engine

engine = load_engine("prm_scoring")
NOW = datetime(2026, 6, 15, 12, 0, 0)
RULESET = engine.Ruleset(
    fit_weight=40, engagement_weight=60, fit_cap=50, engagement_cap=40
)


def ev(i, type_="page_view", days=0.0, **kw):
    return engine.Event(id=i, type=type_, occurred_at=NOW - timedelta(days=days), **kw)


def test_simple_combination():
    """Fit 25/50 and engagement 20/40 give 50% of each part: score 50, grade C."""
    fit = [engine.FitRule(1, 15), engine.FitRule(2, 10)]
    rules = [engine.EngagementRule(10, "page_view", points=5)]
    score = engine.score_lead(fit, [ev(i) for i in range(4)], rules, RULESET, NOW)
    assert (score.fit, score.engagement, score.total) == (50.0, 50.0, 50.0)
    assert score.grade == "C"


def test_decay_halves_points():
    """An event one half-life old is worth half its points."""
    rules = [engine.EngagementRule(10, "email_click", points=8, half_life_days=14)]
    ruleset = engine.Ruleset(fit_weight=0, engagement_weight=100, engagement_cap=100)
    fresh = engine.score_lead([], [ev(1, "email_click")], rules, ruleset, NOW)
    old = engine.score_lead([], [ev(1, "email_click", days=14)], rules, ruleset, NOW)
    assert fresh.engagement == 8.0
    assert old.engagement == 4.0


def test_rule_cap_and_period_cap():
    """A rule never gives more than its cap; a period cap limits bursts."""
    ruleset = engine.Ruleset(fit_weight=0, engagement_weight=100, engagement_cap=100)
    capped = [engine.EngagementRule(10, "page_view", points=3, max_points=10)]
    burst = [ev(i) for i in range(20)]
    assert engine.score_lead([], burst, capped, ruleset, NOW).engagement == 10.0
    daily = [
        engine.EngagementRule(10, "page_view", points=3, period_days=1, period_cap=6)
    ]
    spread = [ev(i, days=i // 5 + 0.5) for i in range(15)]  # 5 a day over 3 days
    assert engine.score_lead([], spread, daily, ruleset, NOW).engagement == 18.0


def test_negative_rule_and_floor():
    """Unsubscribes take points away; engagement never goes below zero."""
    ruleset = engine.Ruleset(fit_weight=0, engagement_weight=100, engagement_cap=100)
    rules = [
        engine.EngagementRule(10, "page_view", points=5),
        engine.EngagementRule(11, "unsubscribe", points=-20),
    ]
    two_views = [ev(1), ev(2), ev(3, "unsubscribe")]
    assert engine.score_lead([], two_views, rules, ruleset, NOW).engagement == 0.0
    many = [ev(i) for i in range(6)] + [ev(99, "unsubscribe")]
    assert engine.score_lead([], many, rules, ruleset, NOW).engagement == 10.0


def test_rule_filters():
    """URL, UTM and property filters narrow a rule; bots never count."""
    rule = engine.EngagementRule(
        10, "page_view", points=10, url_pattern="*/pricing*", utm_source="google"
    )
    assert rule.matches(ev(1, url="https://x.com/pricing?a=1", source="Google"))
    assert not rule.matches(ev(2, url="https://x.com/blog", source="google"))
    assert not rule.matches(ev(3, url="https://x.com/pricing", source="bing"))
    assert not rule.matches(
        ev(4, url="https://x.com/pricing", source="google", is_bot=True)
    )
    prop = engine.EngagementRule(
        11, "form_submit", 5, property_key="form", property_value="demo"
    )
    assert prop.matches(ev(5, "form_submit", properties={"form": "demo"}))
    assert not prop.matches(ev(6, "form_submit", properties={"form": "contact"}))


def test_contributions_sum_exactly():
    """Contributions add up exactly to the score, caps and decay included."""
    rnd = random.Random(7)
    fit_rules = [engine.FitRule(i, rnd.choice([-5, 7, 13, 20])) for i in range(5)]
    rules = [
        engine.EngagementRule(10, "page_view", 3, half_life_days=10, max_points=25),
        engine.EngagementRule(11, "email_click", 7, half_life_days=30),
        engine.EngagementRule(12, "unsubscribe", -15),
        engine.EngagementRule(13, "page_view", 2, period_days=1, period_cap=4),
    ]
    types = ["page_view", "email_click", "email_open", "unsubscribe"]
    for _trial in range(200):
        events = [
            ev(i, rnd.choice(types), days=rnd.uniform(0, 90))
            for i in range(rnd.randint(0, 40))
        ]
        chosen = rnd.sample(fit_rules, rnd.randint(0, 5))
        score = engine.score_lead(chosen, events, rules, RULESET, NOW)
        total = round(sum(c.points for c in score.contributions), 2)
        assert total == score.total
        assert 0 <= score.total <= 100
        expected = round(0.4 * score.fit + 0.6 * score.engagement, 2)
        assert abs(score.total - expected) <= 0.011


def test_deterministic():
    """Same inputs, same score (order of events does not matter)."""
    rules = [engine.EngagementRule(10, "page_view", 3, half_life_days=7, max_points=12)]
    events = [ev(i, days=i) for i in range(10)]
    a = engine.score_lead([], events, rules, RULESET, NOW)
    b = engine.score_lead([], list(reversed(events)), rules, RULESET, NOW)
    assert a == b


def test_bad_ruleset():
    """Weights must add up to 100 and caps be positive."""
    with pytest.raises(ValueError):
        engine.Ruleset(fit_weight=60, engagement_weight=60)
    with pytest.raises(ValueError):
        engine.Ruleset(fit_cap=0)


def test_doctests():
    """The examples in the engine's docstrings hold."""
    assert doctest.testmod(engine.score).failed == 0


def test_batch_equals_one_lead_at_a_time():
    """Scoring many leads at once gives each lead exactly its own score."""
    rnd = random.Random(11)
    rules = [
        engine.EngagementRule(10, "page_view", 3, half_life_days=10, max_points=25),
        engine.EngagementRule(11, "email_click", 7, half_life_days=30),
        engine.EngagementRule(12, "unsubscribe", -15),
        engine.EngagementRule(13, "page_view", 2, period_days=1, period_cap=4),
    ]
    fit_rules = [engine.FitRule(1, 20), engine.FitRule(2, -5), engine.FitRule(3, 40)]
    types = ["page_view", "email_click", "unsubscribe", "email_open"]
    leads = []
    for lead in range(30):
        events = [
            ev(lead * 100 + i, rnd.choice(types), days=rnd.uniform(0, 60))
            for i in range(rnd.randint(0, 25))
        ]
        leads.append((rnd.sample(fit_rules, rnd.randint(0, 3)), events))
    fit_matches = [
        (rule, np.array([i for i, (f, _e) in enumerate(leads) if rule in f]))
        for rule in fit_rules
    ]
    rule_matches = []
    for rule in rules:
        hits = [(i, e) for i, (_f, events) in enumerate(leads) for e in events]
        hits = [(i, e) for i, e in hits if rule.matches(e)]
        rule_matches.append(
            engine.RuleMatches(
                rule,
                lead=np.array([i for i, _e in hits], dtype=np.int64),
                event=np.array([e.id for _i, e in hits], dtype=np.int64),
                at=np.array(
                    [engine.to_micros(e.occurred_at) for _i, e in hits], dtype=np.int64
                ),
            )
        )
    batch = engine.score_batch(
        len(leads), fit_matches, rule_matches, RULESET, engine.to_micros(NOW), True
    )
    for i, (fit, events) in enumerate(leads):
        in_order = [rule for rule in fit_rules if rule in fit]  # as the rule set
        alone = engine.score_lead(in_order, events, rules, RULESET, NOW)
        assert batch.score(i) == alone


def test_binary_copy_parser():
    """Rows of PostgreSQL's binary COPY format come back as typed columns."""
    pgcopy = importlib.import_module(engine.__name__ + ".pgcopy")
    rows = [(1, 10, 3_000_000), (2, -7, 0)]
    body = b"".join(struct.pack(">hiiiiiq", 3, 4, a, 4, b, 8, c) for a, b, c in rows)
    data = pgcopy.SIGNATURE + b"\0\0\0\0" + b"\0\0\0\0" + body + b"\xff\xff"
    cols = [("a", "int4"), ("b", "int4"), ("at", "timestamp")]
    out = pgcopy.parse_binary_copy(data, cols)
    assert out["a"].tolist() == [1, 2]
    assert out["b"].tolist() == [10, -7]
    assert out["at"].tolist() == [3_000_000, 0]
    null_row = struct.pack(">hiiiiiq", 3, 4, 1, -1, 0, 8, 0)[:-4]  # b is NULL
    with pytest.raises(ValueError):
        pgcopy.parse_binary_copy(
            pgcopy.SIGNATURE + b"\0" * 8 + null_row + b"\xff\xff", cols
        )
    with pytest.raises(ValueError):
        pgcopy.parse_binary_copy(b"not a copy", cols)


def test_id_sets_read_as_range_only_when_dense():
    """A large id set is read as its range only when it fills a quarter of
    it; the docstring's examples hold."""
    idsets = importlib.import_module(engine.__name__ + ".idsets")
    assert doctest.testmod(idsets).failed == 0
    batch = list(range(10_000, 60_000))  # a daily rescore batch
    assert idsets.as_range(batch)
    queue = sorted(random.Random(3).sample(range(1, 1_000_000), 2000))
    assert not idsets.as_range(queue)  # spread over a million leads
