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


KINDS = ("advanced", "regressed", "won", "lost", "merged", "open")


def stage_counts(stays, stages, won_stages):
    """What :func:`stage_table` is computed from, counted over ``stays``
    (the SQL of the funnel analysis counts the same on the database).

    :return: ``(per_stage, furthest)``: ``per_stage`` maps each stage of
        ``stages`` a lead was in to a dict of ``entered`` (stays), ``leads``
        (distinct), one count per exit kind (unknown kinds count as open),
        ``median_days`` and ``mean_days`` (ended stays, None without any);
        ``furthest`` maps ``(rank, won)`` to the number of leads whose
        furthest stage has that rank in ``stages`` (``len(stages)`` for a
        won stage) and that were won (or not)

    >>> per_stage, furthest = stage_counts(
    ...     [Stay(1, 10, "advanced", 2.0), Stay(1, 99, "open")], [10, 20], {99})
    >>> per_stage[10]["advanced"], per_stage[10]["median_days"], furthest
    (1, 2.0, {(2, True): 1})
    """
    order = {stage: i for i, stage in enumerate(stages)}
    top = len(stages)  # the rank of a won stage
    per_stage = {}
    durations = {}
    seen = {}
    rank_of = {}  # lead -> furthest rank reached
    won_leads = set()
    for stay in stays:
        rank = top if stay.stage in won_stages else order.get(stay.stage)
        if rank is None:
            continue  # a stage outside this pipeline
        rank_of[stay.lead] = max(rank_of.get(stay.lead, -1), rank)
        if rank == top:
            won_leads.add(stay.lead)
            continue
        row = per_stage.setdefault(stay.stage, dict.fromkeys(("entered", *KINDS), 0))
        row["entered"] += 1
        seen.setdefault(stay.stage, set()).add(stay.lead)
        kind = stay.exit_kind if stay.exit_kind in KINDS else "open"
        row[kind] += 1
        if stay.duration_days is not None and kind != "open":
            durations.setdefault(stay.stage, []).append(stay.duration_days)
    for stage, row in per_stage.items():
        row["leads"] = len(seen[stage])
        days = durations.get(stage)
        row["median_days"] = statistics.median(days) if days else None
        row["mean_days"] = statistics.fmean(days) if days else None
    furthest = {}
    for lead, rank in rank_of.items():
        key = (rank, lead in won_leads)
        furthest[key] = furthest.get(key, 0) + 1
    return per_stage, furthest


def stage_table(stays, stages, won_stages):
    """Per open stage (in pipeline order), the funnel figures of ``stays``.

    :param stays: the stays of the leads under study (:class:`Stay`)
    :param stages: open stage ids in pipeline order
    :param won_stages: ids of won stages (the end of the pipeline)
    :return: ``(rows, summary)``; the summary holds ``first`` (leads that
        reached the first stage), ``won`` (leads won) and ``end_to_end``
    """
    return stage_table_of_counts(stages, *stage_counts(stays, stages, won_stages))


def stage_table_of_counts(stages, per_stage, furthest, ranks=None, top=None):
    """:func:`stage_table` from the counts of :func:`stage_counts`.

    ``furthest`` may rank the leads' stages in a longer pipeline of which
    ``stages`` keeps some, in the same order (the stages a cohort was in):
    ``ranks`` then maps each stage of ``stages`` to its rank there and
    ``top`` is that pipeline's won rank.
    """
    if ranks is None:
        ranks = {stage: i for i, stage in enumerate(stages)}
        top = len(stages)
    rows = []
    for stage in stages:
        counts = per_stage.get(stage, {})
        row = StageRow(stage, **{
            key: counts.get(key, 0) for key in ("entered", "leads", *KINDS)
        })  # fmt: skip
        row.median_days = counts.get("median_days")
        row.mean_days = counts.get("mean_days")
        rows.append(row)

    def reached(rank, won_only=False):
        return sum(
            n for (r, won), n in furthest.items() if r >= rank and (won or not won_only)
        )

    ladder = [ranks[stage] for stage in stages] + [top]
    for k, row in enumerate(rows):
        row.reached = reached(ladder[k])
        row.conversion_next = _ratio(reached(ladder[k + 1]), row.reached)
        row.conversion_won = _ratio(reached(ladder[k], won_only=True), row.reached)
        row.drop_off = None if row.conversion_next is None else 1 - row.conversion_next
    first = rows[0].reached if rows else 0
    won = sum(n for (_rank, is_won), n in furthest.items() if is_won)
    summary = {
        "first": first,
        "won": won,
        "end_to_end": _ratio(won, first) if stages else None,
    }
    return rows, summary


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
