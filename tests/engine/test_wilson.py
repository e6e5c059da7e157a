"""Pure tests of prm_funnel's statistics engine (no Odoo)."""

import pytest
from conftest import load_engine

engine = load_engine("prm_funnel")


@pytest.mark.parametrize(
    "successes,trials,low,high",
    [(3, 20, 0.052, 0.360), (30, 200, 0.107, 0.206)],
)
def test_wilson_check_values(successes, trials, low, high):
    """The issue's check values: 3/20 -> [5.2%, 36.0%], 30/200 -> [10.7%, 20.6%]."""
    got_low, got_high = engine.wilson_interval(successes, trials)
    assert round(got_low, 3) == low
    assert round(got_high, 3) == high


def test_wilson_edges():
    """0/n and n/n stay inside [0, 1]; no trial at all is n/a (None)."""
    low, high = engine.wilson_interval(0, 10)
    assert low == 0.0 and 0 < high < 0.35
    low, high = engine.wilson_interval(10, 10)
    assert 0.65 < low < 1 and high == pytest.approx(1.0)
    assert high <= 1.0
    assert engine.wilson_interval(0, 0) is None


def test_wilson_bad_input():
    """More successes than trials is an error."""
    with pytest.raises(ValueError):
        engine.wilson_interval(5, 3)


def test_interval_text():
    """A rate and its interval are written "15.0 % (5.2 – 36.0)"."""
    low, high = (100 * x for x in engine.wilson_interval(3, 20))
    assert engine.interval_text(15.0, low, high) == "15.0 % (5.2 \u2013 36.0)"
