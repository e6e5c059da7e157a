"""Pure tests of prm_scoring's conversion-probability engine (no Odoo)."""

import importlib
import random
from datetime import datetime, timedelta

import numpy as np
import pytest
from conftest import load_engine

engine = load_engine("prm_scoring")
prop = importlib.import_module(engine.__name__ + ".propensity")
DAY = prop.DAY_US
NOW = engine.to_micros(datetime(2026, 6, 15))


def test_snapshots_and_labels():
    """Snapshots are taken while a lead is open and its horizon has passed;
    the label says whether it was won within the horizon."""
    created = [NOW - 200 * DAY, NOW - 100 * DAY, NOW - 40 * DAY, NOW - 200 * DAY]
    closed = [NOW - 150 * DAY, -1, -1, NOW - 195 * DAY]  # lead 3 closed at day 5
    won = [NOW - 150 * DAY, -1, -1, -1]
    lead, at = prop.snapshots(created, closed, NOW, horizon_days=30)
    ages = ((at - np.array(created)[lead]) // DAY).tolist()
    pairs = sorted(zip(lead.tolist(), ages, strict=True))
    # lead 0: ages 0, 7, 30 (day 90 is after it was won); lead 1: 0, 7, 30
    # (day 90 + 30 > now); lead 2: 0, 7 (day 30 + 30 > now); lead 3: age 0
    assert pairs == [
        (0, 0), (0, 7), (0, 30), (1, 0), (1, 7), (1, 30), (2, 0), (2, 7), (3, 0)
    ]  # fmt: skip
    y = prop.labels(won, lead, at, horizon_days=30)
    keys = zip(lead.tolist(), at.tolist(), strict=True)
    got = dict(zip(keys, y.tolist(), strict=True))
    assert got[(0, created[0] + 30 * DAY)] == 1  # won 20 days later
    assert got[(0, created[0])] == 0  # won 50 days later: beyond the horizon
    assert sum(y) == 1


def test_event_counts_match_brute_force():
    """Vectorized window counts and recency equal a plain loop."""
    rnd = random.Random(5)
    ev = [
        (
            rnd.randrange(8),
            NOW - rnd.randrange(0, 90 * 86400) * 1_000_000,
            rnd.randrange(-1, 5),
        )
        for _i in range(400)
    ]
    snaps = [(rnd.randrange(9), NOW - rnd.randrange(0, 60) * DAY) for _i in range(60)]
    out = prop.event_counts(
        [s[0] for s in snaps],
        [s[1] for s in snaps],
        [e[0] for e in ev],
        [e[1] for e in ev],
        [e[2] for e in ev],
    )
    kinds = ("view", "open", "click", "form", "talk")
    view, open_, click, form, talk = (prop.KIND_INDEX[k] for k in kinds)
    for i, (lead, t) in enumerate(snaps):
        before = [
            (at, kind) for lx, at, kind in ev if lx == lead and at // 10**6 < t // 10**6
        ]

        def within(kind, days, before=before, t=t):
            return sum(
                1
                for at, k in before
                if k == kind
                and (days is None or at // 10**6 >= t // 10**6 - days * 86400)
            )

        expected = [
            within(view, 7),
            within(view, 30),
            within(open_, 30),
            within(click, 30),
            within(form, None),
            within(talk, None),
        ]
        last = max((at for at, _k in before), default=None)
        recency = prop.RECENCY_CAP
        if last is not None:
            recency = min((t // 10**6 - last // 10**6) / 86400, prop.RECENCY_CAP)
        assert out[i].tolist() == expected + [pytest.approx(recency)]


def test_scores_at_snapshots():
    """A snapshot is scored as the lead was then: only earlier events, decayed
    to that instant."""
    rules = [
        engine.EngagementRule(10, "page_view", 4, half_life_days=10, max_points=30),
        engine.EngagementRule(11, "email_click", 6, period_days=2, period_cap=6),
    ]
    ruleset = engine.Ruleset(fit_weight=30, engagement_weight=70, engagement_cap=40)
    fit_rule = engine.FitRule(1, 50)
    start = datetime(2026, 1, 1)
    rnd = random.Random(9)
    events = {
        lead: [
            engine.Event(
                id=lead * 100 + i,
                type=rnd.choice(["page_view", "email_click"]),
                occurred_at=start + timedelta(days=rnd.uniform(0, 60)),
            )
            for i in range(15)
        ]
        for lead in range(3)
    }
    matches = []
    for rule in rules:
        hits = [
            (lead, e) for lead, evs in events.items() for e in evs if rule.matches(e)
        ]
        matches.append(
            engine.RuleMatches(
                rule,
                lead=np.array([lead for lead, _e in hits]),
                event=np.array([e.id for _l, e in hits]),
                at=np.array([engine.to_micros(e.occurred_at) for _l, e in hits]),
            )
        )
    fit = [(fit_rule, np.array([0, 2]))]
    snap_lead = np.array([0, 0, 1, 2, 2, 2])
    snap_at = np.array(
        [engine.to_micros(start + timedelta(days=d)) for d in (10, 40, 30, 0, 20, 61)]
    )
    fit_s, matches_s = engine.at_snapshots(fit, matches, snap_lead, snap_at)
    scores = engine.score_batch(len(snap_lead), fit_s, matches_s, ruleset, snap_at)
    snaps = zip(snap_lead.tolist(), snap_at.tolist(), strict=True)
    for i, (lead, at_us) in enumerate(snaps):
        when = datetime(2000, 1, 1) + timedelta(microseconds=at_us)
        earlier = [e for e in events[lead] if e.occurred_at < when]
        alone = engine.score_lead(
            [fit_rule] if lead in (0, 2) else [], earlier, rules, ruleset, when
        )
        got = scores.score(i)
        assert (got.fit, got.engagement, got.total) == (
            alone.fit,
            alone.engagement,
            alone.total,
        )


def _synthetic(n, seed):
    """Snapshots whose conversion depends on engagement and fit."""
    rnd = np.random.default_rng(seed)
    fit = rnd.uniform(0, 100, n)
    engagement = rnd.uniform(0, 100, n)
    counts = rnd.poisson(3, (n, 7)).astype(float)
    counts[:, 6] = rnd.uniform(0, 180, n)
    age = rnd.uniform(0, 90, n)
    logit = -4 + 0.03 * fit + 0.04 * engagement - 0.01 * counts[:, 6]
    y = (rnd.uniform(0, 1, n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = prop.assemble(fit, engagement, counts, age)
    at = np.sort(rnd.integers(0, 10**9, n))
    return X, y, at


def test_train_finds_signal_and_is_calibrated():
    """On data with a known signal the model ranks well (AUC), beats the
    base rate (Brier) and its probabilities match observed rates."""
    X, y, at = _synthetic(6000, 1)
    result = prop.train(X, y, at)
    valid = result["validation"]
    assert valid["auc"] > 0.75
    assert valid["brier"] < result["base_rate_brier"]
    table = result["calibration"]
    assert sum(row["count"] for row in table) == result["sizes"]["validation"]
    pred = sum(r["predicted"] * r["count"] for r in table)
    obs = sum(r["observed"] * r["count"] for r in table)
    assert abs(pred - obs) / result["sizes"]["validation"] < 0.05
    # the stored numbers alone give the same probabilities
    again = prop.predict(result, X[result["valid_index"]])
    assert np.allclose(again, result["valid_predictions"])
    assert ((0 <= again) & (again <= 1)).all()


def test_not_enough_data():
    """Too few conversions: a clear refusal, not a meaningless model."""
    X, y, at = _synthetic(300, 2)
    y[:] = 0
    y[:5] = 1
    with pytest.raises(prop.NotEnoughData, match="conversions"):
        prop.train(X, y, at)


def test_calibration_table_and_metrics():
    """Deciles of predictions with their observed rates; AUC/Brier known cases."""
    p = np.linspace(0.05, 0.95, 10)
    y = np.array([0, 0, 0, 0, 1, 0, 1, 1, 1, 1])
    table = prop.calibration_table(p, y, bins=5)
    assert [row["count"] for row in table] == [2] * 5
    assert [row["observed"] for row in table] == [0.0, 0.0, 0.5, 1.0, 1.0]
    m = prop.metrics([0.1, 0.9], [0, 1])
    assert m["auc"] == 1.0
    assert m["brier"] == pytest.approx(0.01)
    assert prop.metrics([0.3, 0.3], [0, 0])["auc"] is None
