"""Pure tests of prm_funnel's cost engine (no Odoo): exact expected numbers."""

import doctest
import importlib
from datetime import date

import pytest
from conftest import load_engine

engine = load_engine("prm_funnel")


def test_prorate_over_periods():
    """A cost spread over its days: the part inside a period, none outside."""
    march = (date(2026, 3, 1), date(2026, 3, 31))
    assert engine.prorate(3100, *march, date(2026, 3, 1), date(2026, 3, 31)) == 3100
    assert engine.prorate(3100, *march, date(2026, 3, 10), date(2026, 3, 19)) == 1000
    assert engine.prorate(3100, *march, date(2026, 4, 1), date(2026, 4, 30)) == 0
    with pytest.raises(ValueError):
        engine.prorate(10, date(2026, 3, 2), date(2026, 3, 1), *march)


def test_cost_metrics():
    """Cost per lead, per qualified lead, CAC, ROI, payback, value per cost."""
    m = engine.cost_metrics(
        cost=6000, leads=120, qualified=30, won=4, won_revenue=24000,
        value_added=9000, months=6,
    )  # fmt: skip
    assert m == {
        "cost_per_lead": 50.0,
        "cost_per_qualified": 200.0,
        "cac": 1500.0,
        "roi": 3.0,
        "payback_months": 1.5,  # 6000 / (24000 / 6)
        "value_per_cost": 1.5,
    }


def test_cost_metrics_empty_period():
    """Nothing happened: every ratio is n/a (None), never a division by zero."""
    m = engine.cost_metrics(0, 0, 0, 0, 0.0, 0.0, 0)
    assert set(m.values()) == {None}
    no_win = engine.cost_metrics(500, 10, 2, 0, 0.0, 0.0, 1)
    assert (no_win["cac"], no_win["roi"], no_win["payback_months"]) == (
        None,
        -1.0,
        None,
    )


def test_incidence_users_method():
    """(marketing + sales) / (this year's revenue - last year's), with the
    5-25 % band; no new revenue means n/a."""
    out = engine.incidence(1_500_000, 1_100_000, 30_000, 50_000)
    assert out["new_revenue"] == 400_000
    assert out["incidence"] == pytest.approx(0.2)
    assert out["band"] == "within"
    assert engine.incidence(1_000_000, 900_000, 20_000, 0)["band"] == "within"
    assert engine.incidence(1_000_000, 900_000, 2_000, 1_000)["band"] == "below"
    assert engine.incidence(1_000_000, 900_000, 20_000, 20_000)["band"] == "above"
    flat = engine.incidence(900_000, 1_000_000, 20_000, 20_000)
    assert (flat["incidence"], flat["band"]) == (None, None)


def test_doctests():
    """The examples in the engine's docstrings hold."""
    module = importlib.import_module(f"{engine.__name__}.costs")
    assert doctest.testmod(module).failed == 0
