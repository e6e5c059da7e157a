"""Pure-Python funnel statistics (no ``odoo`` import): tested with plain pytest."""

from .costs import (
    INCIDENCE_BAND,
    cost_metrics,
    incidence,
    months_between,
    overlap_days,
    prorate,
)
from .funnel import (
    KINDS,
    StageRow,
    Stay,
    base_win_rate,
    cohort_counts,
    hours,
    lift,
    stage_counts,
    stage_table,
    stage_table_of_counts,
    stage_win_rate,
    velocity,
    weighted_median,
    what_if,
)
from .periods import split_weeks
from .stats import (
    interval_text,
    normal_cdf,
    two_proportion_test,
    verdict,
    wilson_interval,
)

__all__ = [
    "interval_text",
    "INCIDENCE_BAND",
    "cost_metrics",
    "incidence",
    "months_between",
    "overlap_days",
    "prorate",
    "KINDS",
    "StageRow",
    "Stay",
    "base_win_rate",
    "cohort_counts",
    "hours",
    "lift",
    "normal_cdf",
    "stage_counts",
    "stage_table",
    "stage_table_of_counts",
    "split_weeks",
    "stage_win_rate",
    "two_proportion_test",
    "velocity",
    "weighted_median",
    "verdict",
    "what_if",
    "wilson_interval",
]
