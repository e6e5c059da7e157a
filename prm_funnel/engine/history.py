"""Stays of a lead in stages, rebuilt from what Odoo tracked.

Odoo keeps no stage history, only ``mail.tracking.value`` rows of the fields
it tracks: ``stage_id``, ``active`` and ``expected_revenue`` (never
``probability``).  :func:`rebuild` replays them into stays, classifying each
end of stay exactly as the live capture does (:func:`exit_kind`), so that a
backfilled history equals the one captured live for the same changes, and
dating each move exactly as it does (:func:`move_moment`): to the second, and
never before the stay it ends began.
"""

from dataclasses import dataclass


@dataclass
class Change:
    at: object  # a datetime
    field: str  # "stage_id", "active" or "expected_revenue"
    old: object
    new: object
    message: int | None = None  # the tracking message: one per write


@dataclass
class RebuiltStay:
    stage: int
    previous_stage: int | None
    enter: object
    revenue: float
    exit: object = None
    exit_kind: str = "open"


def to_second(moment):
    """``moment`` without its microseconds (``None`` stays ``None``).

    Odoo dates the moves to the second (``fields.Datetime.now()``, the date
    of a tracking message) but a lead's ``create_date`` is the transaction's
    timestamp, microseconds included: the stay that begins at creation is cut
    to the second like the moves that end it.

    >>> from datetime import datetime
    >>> to_second(datetime(2026, 3, 2, 9, 0, 0, 700000))
    datetime.datetime(2026, 3, 2, 9, 0)
    """
    return moment.replace(microsecond=0) if moment else moment


def move_moment(at, floor):
    """When a move dated ``at`` takes effect: ``at`` to the second, but never
    before ``floor`` (the beginning of the stay it ends, or the lead's
    creation), so that no stay ends before it begins, even when the clocks
    that dated the two disagree (PostgreSQL's for ``create_date``, Odoo's for
    the moves).  The live capture and the rebuild both use this.

    >>> from datetime import datetime
    >>> move_moment(datetime(2026, 3, 2, 9, 0, 5, 250), datetime(2026, 3, 2, 9))
    datetime.datetime(2026, 3, 2, 9, 0, 5)
    >>> move_moment(datetime(2026, 3, 2, 9, 0, 0), datetime(2026, 3, 2, 9, 0, 1))
    datetime.datetime(2026, 3, 2, 9, 0, 1)
    """
    at = to_second(at)
    return max(at, floor) if floor else at


def duration_days(enter, exit_):
    """Days between two datetimes, to the second (the live capture and the
    rebuild both use this)."""
    return round((exit_ - enter).total_seconds() / 86400.0, 6)


def exit_kind(old_stage, new_stage, active, rank, won_stages):
    """How a stay in ``old_stage`` ends when the lead moves to ``new_stage``
    (``active`` after the change): lost, won, advanced or regressed.
    ``rank`` maps a stage to its (sequence, id) place in the pipeline."""
    if not active:
        return "lost"
    if new_stage in won_stages and old_stage not in won_stages:
        return "won"
    return "advanced" if rank(new_stage) > rank(old_stage) else "regressed"


def rebuild(created, stage, active, revenue, changes, rank, won_stages, until=None):
    """The stays of one lead.

    :param created: creation datetime (the first stay begins then, to the second)
    :param stage, active, revenue: the lead's values *now*
    :param changes: its tracked changes (:class:`Change`), any order
    :param until: ignore changes from this instant on (the live capture took
        over then): the stay open at that instant is returned as open
    :return: list of :class:`RebuiltStay`, oldest first
    """
    changes = sorted(
        (c for c in changes if until is None or c.at < until),
        key=lambda c: (c.at, c.message or 0),
    )
    # values at creation: the old value of each field's first change
    first = {}
    for change in changes:
        first.setdefault(change.field, change.old)
    cur_stage = first.get("stage_id", stage)
    cur_active = first.get("active", active)
    cur_revenue = first.get("expected_revenue", revenue) or 0.0
    created = to_second(created)
    stays = []
    if cur_stage and cur_active:
        stays.append(RebuiltStay(cur_stage, None, created, cur_revenue))
    # changes recorded by one write (one tracking message, or without one
    # the same instant) apply together; two writes in one second do not
    i = 0
    while i < len(changes):
        at, message = changes[i].at, changes[i].message
        new_stage, new_active, new_revenue = cur_stage, cur_active, cur_revenue
        while (
            i < len(changes) and changes[i].at == at and changes[i].message == message
        ):
            change = changes[i]
            if change.field == "stage_id":
                new_stage = change.new
            elif change.field == "active":
                new_active = change.new
            elif change.field == "expected_revenue":
                new_revenue = change.new or 0.0
            i += 1
        moved = (new_stage, new_active) != (cur_stage, cur_active)
        if moved:
            ending = (
                stays[-1] if stays and stays[-1].exit is None and cur_active else None
            )
            moment = move_moment(at, ending.enter if ending else created)
            if ending:
                ending.exit = moment
                ending.exit_kind = exit_kind(
                    cur_stage, new_stage, new_active, rank, won_stages
                )
            if new_active and new_stage:
                stays.append(
                    RebuiltStay(new_stage, cur_stage or None, moment, new_revenue)
                )
        cur_stage, cur_active, cur_revenue = new_stage, new_active, new_revenue
    return stays
