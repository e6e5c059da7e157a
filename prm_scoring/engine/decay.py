"""Exponential decay of engagement points.

An event worth ``points`` that happened ``age_days`` ago is worth
``points * 0.5 ** (age_days / half_life_days)`` now: half as much after one
half-life, a quarter after two.  A half-life of ``0`` or ``None`` means "no
decay".  Events in the future (clock skew) are counted at full value, never
more.
"""

import math


def decay_factor(age_days, half_life_days):
    """Share (0..1] of its points an event keeps after ``age_days``.

    >>> decay_factor(30, 30)
    0.5
    >>> decay_factor(0, 30)
    1.0
    >>> decay_factor(10, None)
    1.0
    """
    if not half_life_days:
        return 1.0
    if half_life_days < 0:
        raise ValueError("half_life_days must be positive (or 0 for no decay)")
    age = max(float(age_days), 0.0)
    return 0.5 ** (age / float(half_life_days))


def decayed_points(points, age_days, half_life_days):
    """Points an event is worth now, after decay.

    >>> decayed_points(10, 60, 30)
    2.5
    """
    return points * decay_factor(age_days, half_life_days)


def half_life_from_rate(daily_rate):
    """Half-life in days of a decay that removes ``daily_rate`` (0..1) a day.

    >>> round(half_life_from_rate(0.5), 6)
    1.0
    """
    if not 0 < daily_rate < 1:
        raise ValueError("daily_rate must be strictly between 0 and 1")
    return math.log(0.5) / math.log(1.0 - daily_rate)
