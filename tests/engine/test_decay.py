"""Pure tests of prm_scoring's decay engine (no Odoo)."""

import doctest
import math

import pytest
from conftest import load_engine

engine = load_engine("prm_scoring")


def test_half_life_halves():
    """After one half-life an event keeps half its points, after two a quarter."""
    assert engine.decay_factor(14, 14) == pytest.approx(0.5)
    assert engine.decay_factor(28, 14) == pytest.approx(0.25)
    assert engine.decayed_points(8, 42, 14) == pytest.approx(1.0)


def test_no_decay_and_future_events():
    """No half-life means no decay; events dated in the future never gain points."""
    assert engine.decay_factor(365, 0) == 1.0
    assert engine.decay_factor(365, None) == 1.0
    assert engine.decay_factor(-3, 10) == 1.0


def test_negative_points_decay_too():
    """A negative behaviour (unsubscribe) fades towards zero like a positive one."""
    assert engine.decayed_points(-20, 30, 30) == pytest.approx(-10)


def test_monotonic():
    """Older events are never worth more than newer ones."""
    values = [engine.decay_factor(age, 7) for age in range(100)]
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))
    assert values[-1] > 0


def test_bad_half_life_rejected():
    """A negative half-life is an error, not a silent growth."""
    with pytest.raises(ValueError):
        engine.decay_factor(1, -5)


def test_half_life_from_rate():
    """A 10%/day decay has a half-life of ln(0.5)/ln(0.9) days."""
    assert engine.half_life_from_rate(0.1) == pytest.approx(
        math.log(0.5) / math.log(0.9)
    )
    with pytest.raises(ValueError):
        engine.half_life_from_rate(1.5)


def test_doctests():
    """The examples in the engine's docstrings hold."""
    failures, _tests = doctest.testmod(engine.decay)
    assert failures == 0
