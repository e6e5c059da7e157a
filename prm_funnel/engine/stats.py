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
