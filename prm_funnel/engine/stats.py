"""Statistics for funnel and source-quality reports."""

import math

Z_95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson_interval(successes, trials, z=Z_95):
    """Wilson score interval of a proportion, as (low, high) in 0..1.

    Better than the normal approximation for small samples and proportions
    near 0 or 1 (it never leaves [0, 1]).  Returns ``None`` when there is no
    trial at all: a rate of nothing is "n/a", not 0.

    >>> tuple(round(x, 3) for x in wilson_interval(3, 20))
    (0.052, 0.36)
    """
    if trials < 0 or successes < 0 or successes > trials:
        raise ValueError(f"need 0 <= successes <= trials (got {successes} of {trials})")
    if trials == 0:
        return None
    p = successes / trials
    z2 = z * z
    denom = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def interval_text(rate, low, high):
    """A rate in percent with its interval, as people write it.

    >>> interval_text(15.0, 5.2, 36.04)
    '15.0 % (5.2 – 36.0)'
    """
    return f"{rate:.1f} % ({low:.1f} \u2013 {high:.1f})"


def normal_cdf(x):
    """Standard normal cumulative distribution."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def two_proportion_test(x1, n1, x2, n2):
    """Pooled two-proportion z-test of ``x1/n1`` against ``x2/n2``.

    :return: ``(z, p_value)`` (two-sided), or ``None`` when a group is empty
        or no group varies (all successes or none in both)

    >>> z, p = two_proportion_test(30, 100, 10, 100)
    >>> round(z, 4), round(p, 5)
    (3.5355, 0.00041)
    """
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return None
    z = (x1 / n1 - x2 / n2) / math.sqrt(variance)
    return z, 2.0 * (1.0 - normal_cdf(abs(z)))


def verdict(x1, n1, x2, n2, alpha=0.05, min_trials=30, min_expected=5):
    """``better``, ``worse`` or ``no_evidence`` for group 1 against group 2,
    or ``not_enough_data`` when the normal approximation does not hold (fewer
    than ``min_trials`` in a group, or fewer than ``min_expected`` expected
    successes or failures in one)."""
    if min(n1, n2) < min_trials:
        return "not_enough_data"
    pooled = (x1 + x2) / (n1 + n2)
    expected = (n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled))
    if min(expected) < min_expected:
        return "not_enough_data"
    test = two_proportion_test(x1, n1, x2, n2)
    if test is None or test[1] >= alpha:
        return "no_evidence"
    return "better" if test[0] > 0 else "worse"
