"""Acquisition costs: spreading over periods, per-source metrics, incidence.

Every ratio is ``None`` ("n/a") when its denominator is zero: an empty period
or a source without won customers has no CAC, not a CAC of 0.
"""

from datetime import timedelta

INCIDENCE_BAND = (0.05, 0.25)  # usual incidence of acquisition costs


def overlap_days(a_from, a_to, b_from, b_to):
    """Days (inclusive) two date ranges share."""
    start, end = max(a_from, b_from), min(a_to, b_to)
    return max(0, (end - start).days + 1)


def prorate(amount, cost_from, cost_to, period_from, period_to):
    """The part of a cost spread evenly over ``cost_from..cost_to`` that falls
    in ``period_from..period_to`` (all dates, inclusive).

    >>> from datetime import date
    >>> prorate(3100, date(2026, 3, 1), date(2026, 3, 31),
    ...         date(2026, 3, 16), date(2026, 4, 30))
    1600.0
    """
    days = (cost_to - cost_from).days + 1
    if days <= 0:
        raise ValueError("a cost ends before it starts")
    return amount * overlap_days(cost_from, cost_to, period_from, period_to) / days


def months_between(date_from, date_to):
    """Length of a period in months of 30.4375 days (inclusive dates)."""
    return ((date_to - date_from) + timedelta(days=1)).days / 30.4375


def _ratio(num, den):
    return num / den if den else None


def cost_metrics(cost, leads, qualified, won, won_revenue, value_added, months):
    """What a source's cost bought over a period.

    * cost per lead, per qualified lead, per won customer (CAC);
    * ROI = (won revenue - cost) / cost;
    * payback in months = cost / (won revenue per month of the period);
    * value created by stage progressions per unit of cost.
    """
    monthly_revenue = _ratio(won_revenue, months)
    return {
        "cost_per_lead": _ratio(cost, leads),
        "cost_per_qualified": _ratio(cost, qualified),
        "cac": _ratio(cost, won),
        "roi": _ratio(won_revenue - cost, cost),
        "payback_months": _ratio(cost, monthly_revenue) if monthly_revenue else None,
        "value_per_cost": _ratio(value_added, cost),
    }


def incidence(revenue, previous_revenue, marketing, sales, band=INCIDENCE_BAND):
    """Acquisition-cost incidence of a year, the users' way: new revenue =
    this year's revenue - last year's; incidence = (marketing + sales costs)
    / new revenue, compared with the usual 5-25 % band.

    :return: dict with ``new_revenue``, ``costs``, ``incidence`` (None when
        there is no new revenue) and ``band`` (below, within, above or None)
    """
    new_revenue = revenue - previous_revenue
    costs = marketing + sales
    rate = costs / new_revenue if new_revenue > 0 else None
    if rate is None:
        position = None
    elif rate < band[0]:
        position = "below"
    elif rate > band[1]:
        position = "above"
    else:
        position = "within"
    return {
        "new_revenue": new_revenue,
        "costs": costs,
        "incidence": rate,
        "band": position,
    }
