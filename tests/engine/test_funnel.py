"""Pure tests of prm_funnel's funnel engine (no Odoo): exact expected numbers."""

import doctest
import importlib
import math

import pytest
from conftest import load_engine
from hypothesis import given
from hypothesis import strategies as st

engine = load_engine("prm_funnel")
Stay = engine.Stay
NEW, QUAL, PROP, WON = 1, 2, 3, 9


def test_stage_table_hand_built():
    """Five leads through New -> Qualified -> Proposition -> Won, with a skip,
    a regression, a loss and an open stay: every count and rate by hand."""
    stays = [
        # lead 1: New (2 d) -> Qualified (4 d) -> Proposition (6 d) -> won
        Stay(1, NEW, "advanced", 2), Stay(1, QUAL, "advanced", 4),
        Stay(1, PROP, "won", 6), Stay(1, WON, "open"),
        # lead 2: New (1 d) -> Proposition (skips Qualified) -> back to Qualified
        Stay(2, NEW, "advanced", 1), Stay(2, PROP, "regressed", 3),
        Stay(2, QUAL, "open"),
        # lead 3: New (5 d) -> lost
        Stay(3, NEW, "lost", 5),
        # lead 4: New (3 d) -> Qualified (8 d) -> lost
        Stay(4, NEW, "advanced", 3), Stay(4, QUAL, "lost", 8),
        # lead 5: still in New
        Stay(5, NEW, "open"),
    ]  # fmt: skip
    rows, summary = engine.stage_table(stays, [NEW, QUAL, PROP], {WON})
    new, qual, prop = rows
    assert (new.entered, new.advanced, new.lost, new.open) == (5, 3, 1, 1)
    assert (new.reached, qual.reached, prop.reached) == (5, 3, 2)
    assert new.conversion_next == pytest.approx(3 / 5)
    assert qual.conversion_next == pytest.approx(2 / 3)
    assert prop.conversion_next == pytest.approx(1 / 2)  # to won
    assert new.drop_off == pytest.approx(2 / 5)
    assert (qual.entered, qual.advanced, qual.lost, qual.open) == (3, 1, 1, 1)
    assert (prop.entered, prop.won, prop.regressed) == (2, 1, 1)
    assert new.conversion_won == pytest.approx(1 / 5)
    assert prop.conversion_won == pytest.approx(1 / 2)
    assert (new.median_days, new.mean_days) == (2.5, 2.75)  # 2, 1, 5, 3
    assert (qual.median_days, qual.mean_days) == (6, 6)  # 4, 8
    assert summary == {"first": 5, "won": 1, "end_to_end": pytest.approx(0.2)}
    # the stage conversions multiply to the end-to-end conversion
    product = math.prod(r.conversion_next for r in rows)
    assert product == pytest.approx(summary["end_to_end"])


def test_empty_funnel():
    """No stay at all: no division by zero, rates are n/a (None)."""
    rows, summary = engine.stage_table([], [NEW, QUAL], {WON})
    assert [r.conversion_next for r in rows] == [None, None]
    assert summary["end_to_end"] is None


def test_win_rate_shrinkage():
    """Thin history leans on the prior; rich history on what was observed."""
    prior = engine.base_win_rate(won=20, closed=98)  # (20+1)/(98+2) = 0.21
    assert prior == pytest.approx(0.21)
    assert engine.stage_win_rate(0, 0, prior) == pytest.approx(0.21)
    assert engine.stage_win_rate(3, 5, prior) == pytest.approx((3 + 2.1) / 15)
    assert engine.stage_win_rate(600, 1000, prior) == pytest.approx(602.1 / 1010)


def test_what_if_relative_closed_formula():
    """+3% and +5% relative on 5 stages multiply end-to-end by 1.03^5, 1.05^5."""
    conversions = [0.30, 0.50, 0.40, 0.50, 0.25]
    for amount, gain in ((0.03, 0.159274), (0.05, 0.276282)):
        out = engine.what_if(
            conversions, amount, "relative", entrants=10000, avg_deal=1000
        )
        assert out["measured"] == pytest.approx(0.0075)
        assert out["projected"] == pytest.approx(0.0075 * (1 + amount) ** 5)
        assert out["gain"] == pytest.approx(gain, abs=1e-6)
        assert out["wins"] == (pytest.approx(75), pytest.approx(75 * (1 + amount) ** 5))
        assert out["revenue"][1] == pytest.approx(75000 * (1 + amount) ** 5)


def test_what_if_absolute_closed_formula():
    """+3 and +5 points on the example funnel: 0.75% -> 1.12% and 1.43%
    (+48.8% and +90.6%)."""
    conversions = [0.30, 0.50, 0.40, 0.50, 0.25]
    plus3 = engine.what_if(conversions, 0.03, "absolute")
    assert plus3["projected"] == pytest.approx(0.33 * 0.53 * 0.43 * 0.53 * 0.28)
    assert round(plus3["projected"] * 100, 2) == 1.12
    assert round(plus3["gain"] * 100, 1) == 48.8
    plus5 = engine.what_if(conversions, 0.05, "absolute")
    assert round(plus5["projected"] * 100, 2) == 1.43
    assert round(plus5["gain"] * 100, 1) == 90.6


def test_lift_bounds_and_kind():
    """A lift never takes a conversion above 100%; an unknown kind is refused."""
    assert engine.lift(0.99, 0.05, "relative") == 1.0
    assert engine.lift(0.98, 0.05, "absolute") == 1.0
    with pytest.raises(ValueError):
        engine.lift(0.5, 0.05, "percent")


def test_velocity():
    """Velocity = opportunities x win rate x average deal / cycle days."""
    assert engine.velocity(40, 0.25, 12000, 60) == pytest.approx(2000.0)
    assert engine.velocity(40, 0.25, 12000, 0) is None


def test_two_proportion_known_cases():
    """30/100 vs 10/100 is better; 15/100 vs 14/100 shows no evidence;
    small groups are 'not enough data'."""
    z, p = engine.two_proportion_test(30, 100, 10, 100)
    assert round(z, 4) == 3.5355 and round(p, 5) == 0.00041
    assert engine.verdict(30, 100, 10, 100) == "better"
    assert engine.verdict(10, 100, 30, 100) == "worse"
    assert engine.verdict(15, 100, 14, 100) == "no_evidence"
    assert engine.verdict(3, 20, 30, 200) == "not_enough_data"
    assert engine.verdict(1, 100, 2, 100) == "not_enough_data"  # too few successes
    assert engine.two_proportion_test(0, 50, 0, 50) is None


def test_doctests():
    """The examples in the engine's docstrings hold."""
    for name in ("funnel", "periods", "stats"):
        module = importlib.import_module(f"{engine.__name__}.{name}")
        assert doctest.testmod(module).failed == 0


def test_rebuild_from_tracking():
    """Tracked changes replay into stays: simultaneous changes apply
    together, losses end a stay, a restore opens one, and replay stops where
    the live capture took over."""
    from datetime import datetime, timedelta

    history = importlib.import_module(f"{engine.__name__}.history")
    t0 = datetime(2026, 1, 1)

    def day(n):
        return t0 + timedelta(days=n)

    seq = {NEW: 1, QUAL: 2, PROP: 3, WON: 90}
    changes = [
        history.Change(day(2), "stage_id", NEW, QUAL),
        history.Change(day(2), "expected_revenue", 100.0, 300.0),
        history.Change(day(4), "active", True, False),
        history.Change(day(6), "active", False, True),
        history.Change(day(9), "stage_id", QUAL, WON),
    ]
    stays = history.rebuild(t0, WON, True, 300.0, changes, lambda s: (seq[s], s), {WON})
    assert [
        (s.stage, s.previous_stage, s.enter, s.exit, s.exit_kind, s.revenue)
        for s in stays
    ] == [
        (NEW, None, t0, day(2), "advanced", 100.0),
        (QUAL, NEW, day(2), day(4), "lost", 300.0),
        (QUAL, QUAL, day(6), day(9), "won", 300.0),
        (WON, QUAL, day(9), None, "open", 300.0),
    ]
    cut = history.rebuild(
        t0, WON, True, 300.0, changes, lambda s: (seq[s], s), {WON}, until=day(5)
    )
    assert [(s.stage, s.exit_kind) for s in cut] == [(NEW, "advanced"), (QUAL, "lost")]
    assert history.duration_days(t0, day(2) + timedelta(hours=6)) == 2.25


def _sums_kept(stays):
    """The rows the cohort rollup keeps for `stays` (tools/cohort_rollup.py):
    stay rows per stage, kind, duration to the hour; lead rows per set of
    stages."""
    rows, sets = {}, {}
    for stay in stays:
        kind = stay.exit_kind if stay.exit_kind in engine.KINDS else "open"
        ended = kind != "open" and stay.duration_days is not None
        key = (stay.stage, kind, engine.hours(stay.duration_days) if ended else None)
        row = rows.setdefault(key, {"n": 0, "duration_days": 0.0})
        row["n"] += 1
        row["duration_days"] += stay.duration_days if ended else 0.0
        sets.setdefault(stay.lead, set()).add(stay.stage)
    out = [
        dict(stage_id=stage, kind=kind, hours=hours, stay_source_id=None,
             stages=None, initial=0, initial_value=0, value_added=0,
             value_lost=0, open_revenue=0, **row)
        for (stage, kind, hours), row in rows.items()
    ]  # fmt: skip
    counts = {}
    for stages in sets.values():
        key = tuple(sorted(stages))
        counts[key] = counts.get(key, 0) + 1
    return out + [dict(stages=list(key), n=n) for key, n in counts.items()]


@given(
    st.lists(
        st.builds(
            Stay,
            st.integers(1, 6),
            st.sampled_from([NEW, QUAL, PROP, WON, 42]),
            st.sampled_from([*engine.KINDS, "odd"]),
            st.one_of(st.none(), st.integers(0, 3000).map(lambda x: x / 100)),
        ),
        max_size=40,
    ),
    st.sampled_from([[NEW, QUAL, PROP], [QUAL, NEW], []]),
)
def test_cohort_counts_match_stage_counts(stays, pipeline):
    """Counted from the sums the cohort rollup keeps, the funnel's figures
    (per stage, medians to the hour, furthest stages) equal those counted
    from the stays themselves, whatever the pipeline."""
    per_stage, furthest, _sources = engine.cohort_counts(
        _sums_kept(stays), pipeline, {WON}
    )
    expected, expected_furthest = engine.stage_counts(stays, pipeline, {WON})
    assert furthest == expected_furthest
    assert per_stage.keys() == expected.keys()
    for stage, row in expected.items():
        for key, value in row.items():
            assert per_stage[stage][key] == pytest.approx(value), (stage, key)
