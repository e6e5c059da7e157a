"""How a set of record ids is best selected in SQL.

A large set of ids that fills most of its range (a batch of the daily
rescore, 50,000 consecutive leads) is read as its range, one sequential or
range scan filtered by a hashed ``= ANY``: much cheaper than thousands of
index look-ups. A set spread over the table (a batch of the person queue,
new leads and a few old ones) is not: its range would cover most of a
million leads, or of their ten million events.
"""

RANGE_FROM = 1000  # id sets this large are read as a range, then filtered
RANGE_DENSITY = 4  # ... when their range holds at most 4 ids per id of theirs


def as_range(ids):
    """Whether the sorted ``ids`` are read as their range.

    >>> as_range(list(range(1, 2001))), as_range(list(range(1, 8001, 4)))
    (True, True)
    >>> as_range(list(range(1, 999))), as_range([*range(1, 1001), 500_000])
    (False, False)
    """
    return len(ids) >= RANGE_FROM and ids[-1] - ids[0] < RANGE_DENSITY * len(ids)
