"""Pure tests of prm_scoring's conversion-probability engine (no Odoo)."""

import doctest
import importlib
import json
import random
from datetime import datetime, timedelta

import numpy as np
import pytest
from conftest import load_engine

engine = load_engine("prm_scoring")
prop = importlib.import_module(engine.__name__ + ".propensity")
feat = importlib.import_module(engine.__name__ + ".features")
evaluation = importlib.import_module(engine.__name__ + ".evaluation")
simulator = importlib.import_module(engine.__name__ + ".simulator")
DAY = prop.DAY_US
NOW = engine.to_micros(datetime(2026, 6, 15))


def test_snapshots_cover_the_open_life_on_a_grid():
    """Every lead open at a grid instant (every 7 days back from now - H) is
    a snapshot then: leads of every age, none after closing or too recent;
    the label says whether it was won within the horizon."""
    created = [NOW - 200 * DAY, NOW - 100 * DAY, NOW - 40 * DAY, NOW - 200 * DAY]
    closed = [NOW - 150 * DAY, -1, -1, NOW - 195 * DAY]
    won = [NOW - 150 * DAY, -1, -1, -1]
    lead, at = prop.snapshots(created, closed, NOW, horizon_days=30)
    last = NOW - 30 * DAY
    for i in range(4):
        got = sorted(at[lead == i].tolist())
        expected = sorted(
            t
            for t in range(last, created[i] - 1, -7 * DAY)
            if t >= created[i] and (closed[i] < 0 or t < closed[i])
        )
        assert got == expected, i
    # the open lead 1 is seen at ages 0 to 70 days, lead 2 at 3 and 10 days
    assert ((at[lead == 2] - created[2]) // DAY).tolist() == [10, 3]
    y = prop.labels(won, lead, at, horizon_days=30)
    pairs = dict(
        zip(zip(lead.tolist(), at.tolist(), strict=True), y.tolist(), strict=True)
    )
    for (i, t), label in pairs.items():
        assert label == (i == 0 and t < won[0] <= t + 30 * DAY)
    assert sum(y) == 4  # lead 0 was seen 3, 10, 17 and 24 days before its win


def test_snapshot_step_bounds_the_sample():
    """A long history gets a wider grid step, never more snapshots than
    asked."""
    created = np.arange(0, 2000) * DAY
    closed = np.full(2000, -1)
    lead, at = prop.snapshots(created, closed, 2400 * DAY, 30, max_snapshots=5000)
    assert 0 < len(lead) <= 5000
    steps = np.unique(np.diff(np.sort(np.unique(at))))
    assert len(steps) == 1 and steps[0] % DAY == 0 and steps[0] > 7 * DAY


def test_event_features_match_brute_force():
    """Vectorized window counts, recency, active days, bursts and trend equal
    a plain loop over the events before each snapshot."""
    rnd = random.Random(5)
    ev = [
        (
            rnd.randrange(8),
            NOW - rnd.randrange(0, 120 * 86400) * 1_000_000,
            rnd.randrange(-1, 5),
        )
        for _i in range(500)
    ]
    snaps = [(rnd.randrange(9), NOW - rnd.randrange(0, 60) * DAY) for _i in range(60)]
    block, counts = feat.event_features(
        [s[0] for s in snaps],
        [s[1] for s in snaps],
        [e[0] for e in ev],
        [e[1] for e in ev],
        [e[2] for e in ev],
    )
    names = [n for n, _g in feat.NUMERIC][: block.shape[1]]
    for i, (lead, t) in enumerate(snaps):
        ts = t // 10**6
        before = [
            (at // 10**6, k) for lx, at, k in ev if lx == lead and at // 10**6 < ts
        ]

        def within(days, kind=None, before=before, ts=ts):
            return sum(
                1
                for at, k in before
                if (kind is None or k == kind)
                and (days is None or at >= ts - days * 86400)
            )

        for k, kind in enumerate(feat.KIND_NAMES):
            for w, days in enumerate(feat.WINDOWS):
                expected = within(days, k)
                assert counts[i, k, w] == expected
                col = names.index(f"{kind}_{days or 'ever'}")
                assert block[i, col] == pytest.approx(np.log1p(expected))
        last = max((at for at, _k in before), default=None)
        recency = (
            feat.RECENCY_CAP
            if last is None
            else min((ts - last) / 86400, feat.RECENCY_CAP)
        )
        assert block[i, names.index("recency")] == pytest.approx(np.log1p(recency))
        assert block[i, names.index("never_engaged")] == (last is None)
        day = lambda s: (s - BASE_S) // 86400  # noqa: E731
        active = {day(at) for at, _k in before if day(at) >= day(ts) - 29}
        assert block[i, names.index("active_days_30")] == pytest.approx(
            np.log1p(len(active))
        )
        n30 = within(30)
        burst = n30 / len(active) if active else 0.0
        assert block[i, names.index("per_active_day_30")] == pytest.approx(burst)
        trend = np.log1p(within(14)) - np.log1p((within(42) - within(14)) / 2)
        assert block[i, names.index("trend")] == pytest.approx(trend)


BASE_S = 0  # calendar days: whole days from the epoch of the instants


def test_attribute_encoding():
    """Attributes held by enough leads become one-hot columns (lists for
    tags), rarer values share the baseline (no column)."""
    leads = [
        {"country": "BE", "tag": ["1", "2"]},
        {"country": "BE", "tag": ["2"]},
        {"country": "FR", "tag": []},
    ]
    columns = feat.vocabulary(leads, min_count=2)
    assert columns == [("country", "BE"), ("tag", "2")]
    matrix = feat.encode(leads, columns).toarray().tolist()
    assert matrix == [[1, 1], [1, 1], [0, 0]]


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
    """Snapshots whose conversion depends on engagement, fit and source."""
    rnd = np.random.default_rng(seed)
    fit = rnd.uniform(0, 100, n)
    engagement = rnd.uniform(0, 100, n)
    block = rnd.poisson(2, (n, len(feat.NUMERIC) - 9)).astype(float)
    age = rnd.uniform(0, 300, n)
    source = rnd.integers(0, 3, n)
    leads = [{"source": str(s)} for s in source]
    columns = feat.vocabulary(leads)
    cats = feat.encode(leads, columns)
    logit = (
        -4 + 0.03 * fit + 0.02 * engagement + 0.3 * block[:, 0] + 0.8 * (source == 2)
    )
    y = (rnd.uniform(0, 1, n) < 1 / (1 + np.exp(-logit))).astype(int)
    dense = feat.assemble(block, age, fit, engagement)
    at = np.sort(rnd.integers(0, 10**9, n))
    return dense, cats, columns, y, at


def test_train_finds_signal_and_is_calibrated():
    """On data with a known signal the model ranks well (AUC), beats the
    base rate (Brier), is calibrated (ECE), and the stored JSON alone gives
    the same probabilities."""
    dense, cats, columns, y, at = _synthetic(8000, 1)
    result = prop.train(dense, cats, columns, y, at)
    valid = result["validation"]
    assert valid["auc"] > 0.75
    assert valid["brier"] < result["base_rate_brier"]
    assert valid["ece"] < 0.03
    params = json.loads(json.dumps(result["params"]))
    idx = result["valid_index"]
    again = prop.predict(params, dense[idx], cats[idx])
    assert np.allclose(again, result["valid_predictions"])
    assert ((0 <= again) & (again <= 1)).all()
    # the strongest attribute is the one that drives conversions
    weights = dict(
        zip(map(tuple, params["columns"]), params["coef_columns"], strict=True)
    )
    assert max(weights, key=weights.get) == ("source", "2")


def test_contributions_add_up_to_the_logit():
    """Per-group contributions are the model's own terms: they sum, with the
    average lead's log-odds, to the lead's log-odds."""
    dense, cats, columns, y, at = _synthetic(4000, 3)
    params = prop.train(dense, cats, columns, y, at)["params"]
    groups, matrix = prop.contributions(params, dense[:50], cats[:50])
    assert len(groups) == matrix.shape[1]
    logit = prop._logit(params, dense[:50], cats[:50])
    average = params["intercept"] + float(
        np.dot(params["column_mean"], params["coef_columns"])
    )
    assert np.allclose(matrix.sum(axis=1) + average, logit)
    source = groups.index("source")
    assert matrix[np.asarray(cats[:50, -1].todense()).ravel() == 1, source].min() > 0


def test_parts_never_share_a_win():
    """Fitting, calibration and validation are whole instants in time order,
    and no snapshot's outcome window reaches into the next part."""
    rnd = np.random.default_rng(6)
    at = np.sort(rnd.integers(0, 200, 3000)) * DAY
    fit, calib, valid = prop._split(at, 0.25, 0.3, horizon_days=30)
    assert at[fit].max() + 30 * DAY <= at[calib].min()
    assert at[calib].max() + 30 * DAY <= at[valid].min()
    assert not set(at[calib]) & set(at[valid])
    assert len(valid) >= 0.25 * len(at)


def test_bootstrap_resamples_whole_groups():
    """With every row of a lead repeated, resampling leads gives the same
    interval as resampling single rows of one copy; resampling the repeated
    rows one by one would pretend to know more."""
    rnd = np.random.default_rng(8)
    p = rnd.uniform(0, 1, 300)
    y = (rnd.uniform(0, 1, 300) < p).astype(int)
    single = evaluation.bootstrap_auc(p, y)
    lead = np.tile(np.arange(300), 5)
    grouped = evaluation.bootstrap_auc(np.tile(p, 5), np.tile(y, 5), groups=lead)
    naive = evaluation.bootstrap_auc(np.tile(p, 5), np.tile(y, 5))
    width = lambda b: b["high"] - b["low"]  # noqa: E731
    assert abs(width(grouped) - width(single)) < 0.3 * width(single)
    assert width(naive) < 0.6 * width(grouped)


def test_not_enough_data():
    """Too few conversions: a clear refusal, not a meaningless model."""
    dense, cats, columns, y, at = _synthetic(300, 2)
    y[:] = 0
    y[:5] = 1
    with pytest.raises(prop.NotEnoughData, match="conversions"):
        prop.train(dense, cats, columns, y, at)


def test_evaluation_against_scikit_learn():
    """AUC (with ties), Brier and the bootstrap agree with scikit-learn and
    with their definitions; ECE and lift on known cases."""
    from sklearn.metrics import roc_auc_score

    rnd = np.random.default_rng(4)
    p = np.round(rnd.uniform(0, 1, 3000), 2)  # many ties
    y = (rnd.uniform(0, 1, 3000) < p).astype(int)
    assert evaluation.auc(p, y) == pytest.approx(roc_auc_score(y, p))
    m = evaluation.metrics(p, y)
    assert m["brier"] == pytest.approx(np.mean((np.clip(p, 1e-6, 1 - 1e-6) - y) ** 2))
    boot = evaluation.bootstrap_auc(p, y, q=np.zeros(3000))
    assert boot["low"] < evaluation.auc(p, y) < boot["high"]
    # against a constant, the difference is the AUC minus one half
    assert boot["diff_low"] == pytest.approx(boot["low"] - 0.5, abs=1e-9)
    assert evaluation.ece([0.5] * 4, [0, 1, 0, 1], bins=1) == 0.0
    assert evaluation.auc([0.3, 0.3], [0, 0]) is None
    rows = evaluation.lift(np.linspace(1, 0, 10), [1, 1, 0, 0, 0, 0, 0, 0, 0, 0], 5)
    assert [r["lift"] for r in rows] == [5.0, 0.0, 0.0, 0.0, 0.0]


def test_simulator_oracle_is_the_truth():
    """The simulator's oracle is its own truth: calibrated against what then
    happens (mean over seeds), and it ranks better than chance."""
    gaps, aucs = [], []
    for seed in range(3):
        scenario = simulator.Scenario(n=3000, days=240, horizon=30, seed=seed)
        is_open = scenario.is_open()
        oracle = scenario.oracle()[is_open]
        outcome = scenario.outcome()[is_open]
        gaps.append(oracle.mean() - outcome.mean())
        aucs.append(evaluation.auc(oracle, outcome))
    assert abs(np.mean(gaps)) < 0.01
    assert min(aucs) > 0.75
    again = simulator.Scenario(n=3000, days=240, horizon=30, seed=0)
    assert np.array_equal(again.ev_day, scenario.ev_day) is False  # other seed
    assert len(again.profiles()) == 3000


def test_doctests():
    """The examples in the engine's docstrings hold."""
    for module in (prop, feat, evaluation):
        assert doctest.testmod(module).failed == 0, module.__name__
