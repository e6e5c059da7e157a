"""Pure-Python scoring maths (no ``odoo`` import): tested with plain pytest."""

from .decay import decay_factor, decayed_points, half_life_from_rate
from .score import (
    Contribution,
    EngagementRule,
    Event,
    FitRule,
    Ruleset,
    Score,
    grade_of,
    score_lead,
)

__all__ = [
    "Contribution",
    "EngagementRule",
    "Event",
    "FitRule",
    "Ruleset",
    "Score",
    "decay_factor",
    "decayed_points",
    "grade_of",
    "half_life_from_rate",
    "score_lead",
]
