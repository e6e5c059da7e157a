"""Periods split for the sums kept per week (see ``tools/cohort_rollup.py``)."""

from dateutil.relativedelta import relativedelta


def split_weeks(start, end):
    """The period [start, end) (datetimes) as the ranges before and after
    its whole weeks (Monday to Sunday), to count from the stays, and those
    weeks (first Monday, Monday after the last), to read from the sums, or
    None.

    >>> from datetime import datetime
    >>> ranges, weeks = split_weeks(datetime(2025, 12, 5), datetime(2026, 12, 6))
    >>> [(a.isoformat(), b.isoformat()) for a, b in ranges]
    [('2025-12-05T00:00:00', '2025-12-08T00:00:00'), \
('2026-11-30T00:00:00', '2026-12-06T00:00:00')]
    >>> [w.isoformat() for w in weeks]
    ['2025-12-08', '2026-11-30']
    >>> split_weeks(datetime(2026, 3, 2), datetime(2026, 3, 16))[0]
    []
    >>> split_weeks(datetime(2026, 3, 3), datetime(2026, 3, 9))[1] is None
    True
    """
    midnight = relativedelta(hour=0, minute=0, second=0, microsecond=0)

    def monday(moment):
        return moment + midnight - relativedelta(days=moment.weekday())

    first = monday(start)
    if first < start:
        first += relativedelta(weeks=1)
    last = monday(end)
    if first >= last:
        return [(start, end)], None
    ranges = [(a, b) for a, b in ((start, first), (last, end)) if a < b]
    return ranges, (first.date(), last.date())
