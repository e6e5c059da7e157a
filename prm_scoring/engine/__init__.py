"""Pure-Python scoring maths (no ``odoo`` import): tested with plain pytest."""

from .decay import decay_factor, decayed_points, half_life_from_rate
from .score import (
    Contribution,
    EngagementRule,
    Event,
    FitRule,
    RuleMatches,
    Ruleset,
    Score,
    Scores,
    at_snapshots,
    from_micros,
    grade_of,
    score_batch,
    score_lead,
    to_micros,
)

__all__ = [
    "Contribution",
    "EngagementRule",
    "Event",
    "FitRule",
    "RuleMatches",
    "Ruleset",
    "Score",
    "Scores",
    "at_snapshots",
    "decay_factor",
    "decayed_points",
    "from_micros",
    "grade_of",
    "half_life_from_rate",
    "score_batch",
    "score_lead",
    "to_micros",
]
