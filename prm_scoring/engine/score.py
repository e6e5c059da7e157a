"""Lead scores: a pure function of (events, fit matches, rules, rule set, now).

* Fit: each matching fit rule adds its points (negative allowed); the sum is
  clamped to ``[0, fit_cap]`` and scaled to 0-100.
* Engagement: each event counts for the engagement rules it matches (event
  type, optionally URL pattern, UTM values and a property), worth the rule's
  points decayed by the rule's half-life.  Per rule, at most ``period_cap``
  undecayed points per ``period_days`` window (counted back from ``now``), and
  at most ``max_points`` (in absolute value) after decay.  The sum over rules
  is clamped to ``[0, engagement_cap]`` and scaled to 0-100.
* Score: ``fit_weight`` % of the fit part plus ``engagement_weight`` % of the
  engagement part, 0-100.  Grade A-F from the fit part.

Every rule and event that counts comes back as a :class:`Contribution`;
contributions are rounded so that they add up *exactly* to the rounded score,
which is what the lead's "Score" tab shows.
"""

import fnmatch
import math
from dataclasses import dataclass, field
from datetime import datetime

from .decay import decay_factor

DEFAULT_GRADES = (("A", 80.0), ("B", 60.0), ("C", 40.0), ("D", 20.0), ("E", 0.01))


@dataclass(frozen=True)
class FitRule:
    id: int
    points: float
    name: str = ""


@dataclass(frozen=True)
class EngagementRule:
    id: int
    event_type: str
    points: float
    half_life_days: float = 0.0
    max_points: float = 0.0  # 0 = no cap
    period_days: float = 0.0  # with period_cap: cap per window
    period_cap: float = 0.0
    url_pattern: str = ""  # fnmatch pattern, e.g. "*/pricing*"
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    property_key: str = ""
    property_value: str = ""
    name: str = ""

    def matches(self, event):
        """True when ``event`` (an :class:`Event`) counts for this rule."""
        if event.is_bot or event.type != self.event_type:
            return False
        if self.url_pattern and not fnmatch.fnmatch(
            (event.url or "").lower(), self.url_pattern.lower()
        ):
            return False
        for wanted, got in (
            (self.utm_source, event.source),
            (self.utm_medium, event.medium),
            (self.utm_campaign, event.campaign),
        ):
            if wanted and (got or "").lower() != wanted.lower():
                return False
        if self.property_key:
            value = (event.properties or {}).get(self.property_key)
            if value is None:
                return False
            if self.property_value and str(value) != self.property_value:
                return False
        return True


@dataclass(frozen=True)
class Event:
    id: int
    type: str
    occurred_at: datetime
    url: str = ""
    source: str = ""
    medium: str = ""
    campaign: str = ""
    properties: dict = field(default_factory=dict, hash=False, compare=False)
    is_bot: bool = False


@dataclass(frozen=True)
class Ruleset:
    fit_weight: float = 50.0
    engagement_weight: float = 50.0
    fit_cap: float = 100.0
    engagement_cap: float = 100.0
    grades: tuple = DEFAULT_GRADES

    def __post_init__(self):
        if self.fit_cap <= 0 or self.engagement_cap <= 0:
            raise ValueError("caps must be positive")
        if min(self.fit_weight, self.engagement_weight) < 0 or not math.isclose(
            self.fit_weight + self.engagement_weight, 100.0
        ):
            raise ValueError("weights must be >= 0 and add up to 100")


@dataclass(frozen=True)
class Contribution:
    kind: str  # "fit" or "engagement"
    rule_id: int
    event_id: int | None
    points: float  # share of the final 0-100 score


@dataclass(frozen=True)
class Score:
    fit: float  # 0-100
    engagement: float  # 0-100
    total: float  # 0-100
    grade: str
    contributions: tuple


def grade_of(fit, grades=DEFAULT_GRADES):
    """Letter of a 0-100 fit score.

    >>> grade_of(85), grade_of(45), grade_of(0)
    ('A', 'C', 'F')
    """
    for letter, threshold in grades:
        if fit >= threshold:
            return letter
    return "F"


def _clamp_factor(raw, cap):
    """Factor applied to every contribution so that they sum to clamp(raw)."""
    if raw <= 0:
        return 0.0
    return min(1.0, cap / raw)


def _engagement_parts(events, rules, now):
    """[(rule, event, decayed points)] after period caps, before rule caps."""
    parts = []
    for rule in rules:
        matched = sorted(
            (e for e in events if rule.matches(e)), key=lambda e: (e.occurred_at, e.id)
        )
        if not matched:
            continue
        # per-period cap on undecayed points, oldest events first in a window
        allowed = {}
        if rule.period_days and rule.period_cap:
            used = {}
            for event in matched:
                age = (now - event.occurred_at).total_seconds() / 86400.0
                window = math.floor(max(age, 0.0) / rule.period_days)
                room = rule.period_cap - used.get(window, 0.0)
                share = max(0.0, min(abs(rule.points), room))
                used[window] = used.get(window, 0.0) + share
                allowed[event.id] = math.copysign(share, rule.points)
        rule_parts = []
        for event in matched:
            base = allowed.get(event.id, rule.points)
            age = (now - event.occurred_at).total_seconds() / 86400.0
            rule_parts.append(
                (rule, event, base * decay_factor(age, rule.half_life_days))
            )
        total = sum(p for _r, _e, p in rule_parts)
        if rule.max_points and abs(total) > rule.max_points:
            factor = rule.max_points / abs(total)
            rule_parts = [(r, e, p * factor) for r, e, p in rule_parts]
        parts.extend(rule_parts)
    return parts


def _round_exact(values, total_digits=2):
    """Round values so that their rounded sum equals the rounded exact sum
    (largest-remainder method)."""
    scale = 10**total_digits
    exact = [v * scale for v in values]
    target = round(sum(exact))
    floors = [math.floor(v) for v in exact]
    missing = int(target - sum(floors))
    order = sorted(range(len(exact)), key=lambda i: exact[i] - floors[i], reverse=True)
    if missing < 0:
        order = sorted(range(len(exact)), key=lambda i: exact[i] - floors[i])
    for i in order[: abs(missing)]:
        floors[i] += 1 if missing > 0 else -1
    return [f / scale for f in floors], target / scale


def score_lead(fit_rules, events, engagement_rules, ruleset, now):
    """The :class:`Score` of one lead.

    :param fit_rules: the fit rules whose domain the lead matches
    :param events: the lead's events (:class:`Event`)
    :param engagement_rules: the rule set's engagement rules
    """
    fit_raw = sum(rule.points for rule in fit_rules)
    fit_factor = _clamp_factor(fit_raw, ruleset.fit_cap) * 100.0 / ruleset.fit_cap
    fit = max(0.0, min(fit_raw, ruleset.fit_cap)) * 100.0 / ruleset.fit_cap

    parts = _engagement_parts(events, engagement_rules, now)
    eng_raw = sum(p for _r, _e, p in parts)
    eng_factor = (
        _clamp_factor(eng_raw, ruleset.engagement_cap) * 100.0 / ruleset.engagement_cap
    )
    engagement = (
        max(0.0, min(eng_raw, ruleset.engagement_cap))
        * 100.0
        / (ruleset.engagement_cap)
    )

    fw, ew = ruleset.fit_weight / 100.0, ruleset.engagement_weight / 100.0
    keys, values = [], []
    for rule in fit_rules:
        keys.append(("fit", rule.id, None))
        values.append(rule.points * fit_factor * fw)
    for rule, event, points in parts:
        keys.append(("engagement", rule.id, event.id))
        values.append(points * eng_factor * ew)
    rounded, total = _round_exact(values)
    contributions = tuple(
        Contribution(kind, rule_id, event_id, points)
        for (kind, rule_id, event_id), points in zip(keys, rounded, strict=True)
        if points
    )
    return Score(
        fit=round(fit, 2),
        engagement=round(engagement, 2),
        total=total,
        grade=grade_of(fit, ruleset.grades),
        contributions=contributions,
    )
