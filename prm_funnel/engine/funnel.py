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
# the valued progression's sums per source of the stays (see cohort_counts)
SOURCE_SUMS = ("leads", "initial_value", "value_added", "value_lost", "won_revenue")


def hours(days):
    """Days rounded to the whole hour (halves up): the medians of days in
    stage are over these (the cohort sums keep a distribution of them).

    >>> hours(2.02), hours(0.99), hours(0)
    (48, 24, 0)
    """
    return math.floor(days * 24 + 0.5)


def weighted_median(counts):
    """The median of values given as ``{value: how many}`` (None without
    any), as :func:`statistics.median` of the values repeated.

    >>> weighted_median({1: 2, 5: 1}), weighted_median({1: 1, 3: 1})
    (1, 2.0)
    """
    total = sum(counts.values())
    if total <= 0:
        return None
    ordered = sorted(value for value, n in counts.items() if n)

    def at(position):
        seen = 0
        for value in ordered:
            seen += counts[value]
            if seen > position:
                return value
        return ordered[-1]

    if total % 2:
        return at(total // 2)
    return (at(total // 2 - 1) + at(total // 2)) / 2


def stage_counts(stays, stages, won_stages):
    """What :func:`stage_table` is computed from, counted over ``stays``
    (the SQL of the funnel analysis counts the same on the database).

    :return: ``(per_stage, furthest)``: ``per_stage`` maps each stage of
        ``stages`` a lead was in to a dict of ``entered`` (stays), ``leads``
        (distinct), one count per exit kind (unknown kinds count as open),
        ``median_days`` (ended stays, their days rounded to the hour) and
        ``mean_days`` (ended stays; both None without any);
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
        row["median_days"] = (
            statistics.median(hours(d) for d in days) / 24 if days else None
        )
        row["mean_days"] = statistics.fmean(days) if days else None
    furthest = {}
    for lead, rank in rank_of.items():
        key = (rank, lead in won_leads)
        furthest[key] = furthest.get(key, 0) + 1
    return per_stage, furthest


def cohort_counts(rows, stages, won_stages):
    """:func:`stage_counts` of a cohort, and its valued progression per
    source of the stays, from the sums the cohort rollup keeps
    (``tools/cohort_rollup.py``).

    :param rows: dicts of sums: *stay rows* (``stages`` None) per
        ``stage_id``, ``kind``, ``hours`` (ended stays) and
        ``stay_source_id``, with ``n`` stays, ``initial`` (first stays),
        ``duration_days`` and the values ``initial_value``,
        ``value_added``, ``value_lost``, ``open_revenue``; *lead rows*:
        ``n`` leads that were in the ``stages`` (ids)
    :return: ``(per_stage, furthest, per_source)``; ``per_source`` maps
        each source id of the stays to the sums :data:`SOURCE_SUMS`

    >>> rows = [
    ...     dict(stage_id=10, kind="advanced", hours=48, stay_source_id=7,
    ...          stages=None, n=1, initial=1, duration_days=2.0,
    ...          initial_value=5, value_added=0, value_lost=0, open_revenue=0),
    ...     dict(stage_id=99, kind="open", hours=None, stay_source_id=7,
    ...          stages=None, n=1, initial=0, duration_days=0,
    ...          initial_value=0, value_added=3, value_lost=0, open_revenue=8),
    ...     dict(stages=[10, 99], n=1)]
    >>> per_stage, furthest, per_source = cohort_counts(rows, [10, 20], {99})
    >>> per_stage[10]["advanced"], per_stage[10]["median_days"], furthest
    (1, 2.0, {(2, True): 1})
    >>> per_source[7]["won_revenue"], per_source[7]["leads"]
    (8.0, 1.0)
    """
    order = {stage: i for i, stage in enumerate(stages)}
    top = len(stages)
    per_stage, leads, histograms, furthest, per_source = {}, {}, {}, {}, {}
    for row in rows:
        n = row["n"]
        if not n:
            continue
        if row["stages"] is not None:  # a lead row
            ranks = [
                top if stage in won_stages else order[stage]
                for stage in row["stages"]
                if stage in won_stages or stage in order
            ]
            for stage in row["stages"]:
                if stage in order:
                    leads[stage] = leads.get(stage, 0) + n
            if ranks:
                key = (max(ranks), any(s in won_stages for s in row["stages"]))
                furthest[key] = furthest.get(key, 0) + n
            continue
        stage = row["stage_id"]
        sums = per_source.setdefault(
            row["stay_source_id"], dict.fromkeys(SOURCE_SUMS, 0.0)
        )
        for key, value in (
            ("leads", row["initial"]),
            ("initial_value", row["initial_value"]),
            ("value_added", row["value_added"]),
            ("value_lost", row["value_lost"]),
            ("won_revenue", row["open_revenue"] if stage in won_stages else 0),
        ):
            sums[key] += float(value)
        if stage in won_stages or stage not in order:
            continue
        counts = per_stage.setdefault(
            stage, dict.fromkeys(("entered", *KINDS, "days", "ended"), 0)
        )
        counts["entered"] += n
        counts[row["kind"] if row["kind"] in KINDS else "open"] += n
        if row["hours"] is not None and row["kind"] != "open":
            histogram = histograms.setdefault(stage, {})
            histogram[row["hours"]] = histogram.get(row["hours"], 0) + n
            counts["days"] += float(row["duration_days"])
            counts["ended"] += n
    for stage, counts in per_stage.items():
        counts["leads"] = leads.get(stage, 0)
        median = weighted_median(histograms.get(stage, {}))
        counts["median_days"] = None if median is None else median / 24
        ended = counts.pop("ended")
        days = counts.pop("days")
        counts["mean_days"] = days / ended if ended else None
    return per_stage, furthest, per_source


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
