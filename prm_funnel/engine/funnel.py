"""Funnel maths: stage table, stage win rates, what-if, velocity.

A *stay* is one period of a lead in a stage (``prm.stage.history``): it
ends by advancing (to a stage further down the pipeline), regressing, being
won, lost or merged, or is still open.

Conversions use *reach*: a lead reached stage k when it was ever in stage k or
in a stage further down (won included), since leads may skip stages.  The
conversion from stage k is ``reached(k + 1) / reached(k)`` and the product of
all stage conversions is exactly the end-to-end conversion
``won / reached(first stage)``: the what-if simulator relies on that.
"""

import math
import statistics
from dataclasses import dataclass, field

SMOOTHING = 10.0  # pseudo-count of the win-rate shrinkage (see stage_win_rate)


@dataclass(frozen=True)
class Stay:
    lead: int
    stage: int
    exit_kind: str  # advanced, regressed, won, lost, merged, open
    duration_days: float | None = None  # None while open


@dataclass
class StageRow:
    stage: int
    entered: int = 0  # stays that began in the stage
    leads: int = 0  # distinct leads with a stay in it
    reached: int = 0  # leads in it or further down at some point
    advanced: int = 0
    regressed: int = 0
    won: int = 0
    lost: int = 0
    merged: int = 0
    open: int = 0
    conversion_next: float | None = None  # reached(k+1) / reached(k)
    conversion_won: float | None = None  # won leads / reached(k)
    drop_off: float | None = None  # 1 - conversion_next
    median_days: float | None = None  # over ended stays
    mean_days: float | None = None
    durations: list = field(default_factory=list, repr=False)


def _ratio(num, den):
    return num / den if den else None


def stage_table(stays, stages, won_stages):
    """Per open stage (in pipeline order), the funnel figures of ``stays``.

    :param stays: the stays of the leads under study (:class:`Stay`)
    :param stages: open stage ids in pipeline order
    :param won_stages: ids of won stages (the end of the pipeline)
    :return: ``(rows, summary)``; the summary holds ``first`` (leads that
        reached the first stage), ``won`` (leads won) and ``end_to_end``
    """
    order = {stage: i for i, stage in enumerate(stages)}
    top = len(stages)  # the rank of a won stage
    rows = {stage: StageRow(stage) for stage in stages}
    furthest = {}  # lead -> furthest rank reached
    won_leads = set()
    seen = {stage: set() for stage in stages}
    for stay in stays:
        rank = top if stay.stage in won_stages else order.get(stay.stage)
        if rank is None:
            continue  # a stage outside this pipeline
        furthest[stay.lead] = max(furthest.get(stay.lead, -1), rank)
        if rank == top:
            won_leads.add(stay.lead)
            continue
        row = rows[stay.stage]
        row.entered += 1
        seen[stay.stage].add(stay.lead)
        kind = stay.exit_kind if stay.exit_kind in (
            "advanced", "regressed", "won", "lost", "merged", "open"
        ) else "open"  # fmt: skip
        setattr(row, kind, getattr(row, kind) + 1)
        if stay.duration_days is not None and kind != "open":
            row.durations.append(stay.duration_days)
    reached = [0] * (top + 1)
    for rank in furthest.values():
        for k in range(rank + 1):
            reached[k] += 1
    for stage in stages:
        k = order[stage]
        row = rows[stage]
        row.leads = len(seen[stage])
        row.reached = reached[k]
        row.conversion_next = _ratio(reached[k + 1], reached[k])
        won_here = sum(
            1 for lead, rank in furthest.items() if rank >= k and lead in won_leads
        )
        row.conversion_won = _ratio(won_here, reached[k])
        row.drop_off = None if row.conversion_next is None else 1 - row.conversion_next
        if row.durations:
            row.median_days = statistics.median(row.durations)
            row.mean_days = statistics.fmean(row.durations)
    summary = {
        "first": reached[0] if stages else 0,
        "won": len(won_leads),
        "end_to_end": _ratio(len(won_leads), reached[0]) if stages else None,
    }
    return [rows[stage] for stage in stages], summary


def stage_win_rate(won, closed, prior, smoothing=SMOOTHING):
    """P(won | reached a stage), shrunk towards ``prior`` while history is
    thin: ``(won + k * prior) / (closed + k)`` with ``k = smoothing``.

    With no closed lead it is the prior; with many, the observed rate.

    >>> stage_win_rate(0, 0, 0.25)
    0.25
    >>> round(stage_win_rate(30, 40, 0.25), 4)
    0.65
    """
    return (won + smoothing * prior) / (closed + smoothing)


def base_win_rate(won, closed):
    """Overall win rate with Laplace's rule: ``(won + 1) / (closed + 2)``
    (one half with no history at all)."""
    return (won + 1.0) / (closed + 2.0)


def lift(rate, amount, kind):
    """A stage conversion after a lift: ``relative`` multiplies it by
    ``1 + amount`` (amount 0.03 = +3 %), ``absolute`` adds ``amount``
    (0.03 = +3 percentage points); never above 1."""
    if kind == "relative":
        return min(1.0, rate * (1.0 + amount))
    if kind == "absolute":
        return min(1.0, max(0.0, rate + amount))
    raise ValueError("lift kind must be 'relative' or 'absolute'")


def what_if(conversions, amount, kind, entrants=0, avg_deal=0.0):
    """Measured vs projected end-to-end conversion, wins and revenue when
    every stage conversion gets the same lift.

    :param conversions: measured stage-to-stage conversions (0..1)
    :return: dict with ``measured``, ``projected`` (end-to-end), the per-stage
        ``projected_stages``, ``wins`` and ``revenue`` (measured, projected)
    """
    projected_stages = [lift(c, amount, kind) for c in conversions]
    measured = math.prod(conversions) if conversions else 0.0
    projected = math.prod(projected_stages) if conversions else 0.0
    return {
        "projected_stages": projected_stages,
        "measured": measured,
        "projected": projected,
        "wins": (entrants * measured, entrants * projected),
        "revenue": (entrants * measured * avg_deal, entrants * projected * avg_deal),
        "gain": _ratio(projected - measured, measured),
    }


def velocity(open_opportunities, win_rate, avg_deal, cycle_days):
    """Pipeline velocity (money per day): opportunities x win rate x average
    won deal / average sales-cycle length; None without a cycle length."""
    if not cycle_days:
        return None
    return open_opportunities * win_rate * avg_deal / cycle_days
