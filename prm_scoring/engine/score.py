"""Lead scores: a pure function of (events, fit matches, rules, rule set, now).

* Fit: each matching fit rule adds its points (negative allowed); the sum is
  clamped to ``[0, fit_cap]`` and scaled to 0-100.
* Engagement: each event counts for the engagement rules it matches (event
  type, optionally URL pattern, UTM values and a property), worth the rule's
  points decayed by the rule's half-life.  Per rule, at most ``period_cap``
  undecayed points per ``period_days`` window (counted back from ``now``,
  oldest events of a window first), and at most ``max_points`` (in absolute
  value) after decay.  The sum over rules is clamped to
  ``[0, engagement_cap]`` and scaled to 0-100.
* Score: ``fit_weight`` % of the fit part plus ``engagement_weight`` % of the
  engagement part, 0-100, rounded to 2 decimals.  Grade A-F from the fit part.

One function, :func:`score_batch`, computes all of it for many leads at once
with numpy; every path uses it (the full recompute, the rescoring of one lead
after an event, the explanation), so they cannot disagree.
:func:`score_lead` is the same for one lead given plain Python objects.

With ``explain=True`` every rule and event that counts comes back as a
:class:`Contribution`; contributions are rounded so that they add up *exactly*
to the rounded score, which is what the lead's "Score" tab shows.
"""

import fnmatch
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

DEFAULT_GRADES = (("A", 80.0), ("B", 60.0), ("C", 40.0), ("D", 20.0), ("E", 0.01))
EPOCH = datetime(2000, 1, 1)  # PostgreSQL's timestamp epoch
DAY_US = 86_400_000_000.0


def to_micros(moment):
    """Microseconds since 2000-01-01 of a naive UTC datetime (exact integer)."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def from_micros(value):
    """The naive UTC datetime of microseconds since 2000-01-01."""
    return EPOCH + timedelta(microseconds=int(value))


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

    def url_matches(self, url):
        """True when ``url`` passes the rule's URL pattern (if any)."""
        return not self.url_pattern or fnmatch.fnmatch(
            (url or "").lower(), self.url_pattern.lower()
        )

    def property_matches(self, value):
        """True when a property ``value`` (a JSON value) passes the rule's
        property filter; ``None`` means the property is absent."""
        if not self.property_key:
            return True
        if value is None:
            return False
        return not self.property_value or str(value) == self.property_value

    def matches(self, event):
        """True when ``event`` (an :class:`Event`) counts for this rule."""
        if event.is_bot or event.type != self.event_type:
            return False
        if not self.url_matches(event.url):
            return False
        for wanted, got in (
            (self.utm_source, event.source),
            (self.utm_medium, event.medium),
            (self.utm_campaign, event.campaign),
        ):
            if wanted and (got or "").lower() != wanted.lower():
                return False
        if self.property_key:
            return self.property_matches(
                (event.properties or {}).get(self.property_key)
            )
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
    contributions: tuple = ()


@dataclass
class RuleMatches:
    """The events an engagement rule counts, as parallel arrays: ``lead`` (index
    of the lead in the batch), ``event`` (event id) and ``at`` (occurrence, in
    microseconds since 2000-01-01, see :func:`to_micros`)."""

    rule: EngagementRule
    lead: np.ndarray
    event: np.ndarray
    at: np.ndarray


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
    """Factors (per lead) applied to every contribution so that they sum to
    clamp(raw, 0, cap)."""
    safe = np.where(raw > 0, raw, 1.0)
    return np.where(raw > 0, np.minimum(1.0, cap / safe), 0.0)


def _engagement(rule_matches, n, now_us):
    """(raw engagement per lead, [(rule, lead idx, event ids, points)])."""
    eng_raw = np.zeros(n)
    parts = []
    for match in rule_matches:
        rule = match.rule
        if not len(match.lead):
            continue
        order = np.lexsort((match.event, match.at, match.lead))
        lead = np.asarray(match.lead)[order]
        event = np.asarray(match.event)[order]
        at = np.asarray(match.at, dtype=np.int64)[order]
        now = now_us[lead] if np.ndim(now_us) else now_us
        age = np.maximum((now - at) / DAY_US, 0.0)
        points = float(rule.points)
        value = np.full(len(lead), points)
        if rule.period_days and rule.period_cap:
            # k-th event (0-based, oldest first) of a lead in a window gets
            # what is left of the window's cap: clamp(cap - k*|p|, 0, |p|)
            window = np.floor(age / rule.period_days)
            start = np.ones(len(lead), dtype=bool)
            start[1:] = (lead[1:] != lead[:-1]) | (window[1:] != window[:-1])
            pos = np.arange(len(lead))
            rank = pos - np.maximum.accumulate(np.where(start, pos, 0))
            share = np.clip(rule.period_cap - rank * abs(points), 0.0, abs(points))
            value = np.copysign(share, points)
        if rule.half_life_days:
            value = value * np.power(0.5, age / rule.half_life_days)
        total = np.bincount(lead, weights=value, minlength=n)
        if rule.max_points:
            over = np.abs(total) > rule.max_points
            factor = rule.max_points / np.where(over, np.abs(total), rule.max_points)
            total = np.where(over, np.copysign(rule.max_points, total), total)
            value = value * factor[lead]
        eng_raw += total
        parts.append((rule, lead, event, value))
    return eng_raw, parts


def _round_exact(values, target):
    """Round values to cents so that they add up exactly to ``target`` (a
    2-decimal number): largest-remainder method."""
    exact = [v * 100.0 for v in values]
    floors = [math.floor(v) for v in exact]
    missing = round(target * 100) - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: exact[i] - floors[i], reverse=True)
    if missing < 0:
        order = sorted(range(len(exact)), key=lambda i: exact[i] - floors[i])
    for i in order[: abs(missing)]:
        floors[i] += 1 if missing > 0 else -1
    return [f / 100.0 for f in floors]


@dataclass
class Scores:
    """Scores of a batch of leads, as arrays indexed like the batch; with
    ``contributions`` (per lead) when they were asked for."""

    fit: np.ndarray
    engagement: np.ndarray
    total: np.ndarray
    grade: np.ndarray
    contributions: list = None

    def __len__(self):
        return len(self.total)

    def score(self, i):
        """The :class:`Score` of the ``i``-th lead of the batch."""
        return Score(
            fit=float(self.fit[i]),
            engagement=float(self.engagement[i]),
            total=float(self.total[i]),
            grade=str(self.grade[i]),
            contributions=self.contributions[i] if self.contributions else (),
        )


def score_batch(n, fit_matches, rule_matches, ruleset, now_us, explain=False):
    """Scores of ``n`` leads (indexed 0..n-1) at once.

    :param fit_matches: ``[(FitRule, array of lead indices it matches)]``
    :param rule_matches: ``[RuleMatches]``, one per engagement rule
    :param now_us: the instant, in microseconds since 2000-01-01, or an array
        of one instant per lead
    :param explain: also compute each lead's contributions
    :return: :class:`Scores`; values rounded to 2 decimals
    """
    fit_raw = np.zeros(n)
    for rule, leads in fit_matches:
        fit_raw[np.asarray(leads, dtype=np.int64)] += rule.points
    if np.ndim(now_us):
        now_us = np.asarray(now_us, dtype=np.int64)
    eng_raw, parts = _engagement(rule_matches, n, now_us)
    fit = np.clip(fit_raw, 0.0, ruleset.fit_cap) * 100.0 / ruleset.fit_cap
    engagement = (
        np.clip(eng_raw, 0.0, ruleset.engagement_cap) * 100.0 / ruleset.engagement_cap
    )
    fw, ew = ruleset.fit_weight / 100.0, ruleset.engagement_weight / 100.0
    total = np.round(fw * fit + ew * engagement, 2)
    grades = np.full(n, "F", dtype="<U1")
    for letter, threshold in sorted(ruleset.grades, key=lambda g: g[1]):
        grades[fit >= threshold] = letter
    contributions = None
    if explain:
        contributions = []
        for i, (keys, values) in enumerate(
            _explain(n, fit_matches, parts, fit_raw, eng_raw, ruleset)
        ):
            rounded = _round_exact(values, float(total[i]))
            contributions.append(
                tuple(
                    Contribution(kind, rule_id, event_id, points)
                    for (kind, rule_id, event_id), points in zip(
                        keys, rounded, strict=True
                    )
                    if points
                )
            )
    return Scores(
        fit=np.round(fit, 2),
        engagement=np.round(engagement, 2),
        total=total,
        grade=grades,
        contributions=contributions,
    )


def _explain(n, fit_matches, parts, fit_raw, eng_raw, ruleset):
    """[(keys, exact values)] per lead: each rule and event's share of the
    combined score before rounding."""
    fw, ew = ruleset.fit_weight / 100.0, ruleset.engagement_weight / 100.0
    fit_factor = _clamp_factor(fit_raw, ruleset.fit_cap) * 100.0 / ruleset.fit_cap
    eng_factor = (
        _clamp_factor(eng_raw, ruleset.engagement_cap) * 100.0 / ruleset.engagement_cap
    )
    out = [([], []) for _i in range(n)]
    for rule, leads in fit_matches:
        for i in np.asarray(leads, dtype=np.int64):
            out[i][0].append(("fit", rule.id, None))
            out[i][1].append(rule.points * float(fit_factor[i]) * fw)
    for rule, lead, event, value in parts:
        shares = value * eng_factor[lead] * ew
        for i, event_id, share in zip(
            lead.tolist(), event.tolist(), shares.tolist(), strict=True
        ):
            out[i][0].append(("engagement", rule.id, event_id))
            out[i][1].append(share)
    return out


def at_snapshots(fit_matches, rule_matches, snap_lead, snap_at):
    """The matches of leads turned into matches of *snapshots* of them: the
    snapshot ``i`` is lead ``snap_lead[i]`` as it was at ``snap_at[i]``
    (microseconds), with the events strictly before that instant only.  Score
    them with :func:`score_batch` and ``now_us=snap_at``."""
    snap_lead = np.asarray(snap_lead, dtype=np.int64)
    snap_at = np.asarray(snap_at, dtype=np.int64)
    n_leads = int(snap_lead.max()) + 1 if len(snap_lead) else 0
    by_lead = np.argsort(snap_lead, kind="stable")
    count = np.bincount(snap_lead, minlength=n_leads)
    first = np.concatenate([[0], np.cumsum(count)[:-1]]) if n_leads else count

    def expand(leads):
        """(row of the match, snapshot) pairs for lead indices ``leads``."""
        leads = np.asarray(leads, dtype=np.int64)
        inside = leads < n_leads
        reps = np.where(inside, count[np.where(inside, leads, 0)], 0)
        rows = np.repeat(np.arange(len(leads)), reps)
        offset = np.arange(len(rows)) - np.repeat(np.cumsum(reps) - reps, reps)
        return rows, by_lead[first[leads[rows]] + offset]

    fit = []
    for rule, leads in fit_matches:
        _rows, snaps = expand(leads)
        fit.append((rule, snaps))
    matches = []
    for match in rule_matches:
        rows, snaps = expand(match.lead)
        at = np.asarray(match.at, dtype=np.int64)[rows]
        keep = at < snap_at[snaps]
        matches.append(
            RuleMatches(
                match.rule,
                lead=snaps[keep],
                event=np.asarray(match.event)[rows][keep],
                at=at[keep],
            )
        )
    return fit, matches


def score_lead(fit_rules, events, engagement_rules, ruleset, now):
    """The :class:`Score` of one lead, with its contributions.

    :param fit_rules: the fit rules whose domain the lead matches
    :param events: the lead's events (:class:`Event`)
    :param engagement_rules: the rule set's engagement rules
    :param now: a naive UTC datetime
    """
    matches = []
    for rule in engagement_rules:
        hits = [e for e in events if rule.matches(e)]
        matches.append(
            RuleMatches(
                rule,
                lead=np.zeros(len(hits), dtype=np.int64),
                event=np.array([e.id for e in hits], dtype=np.int64),
                at=np.array([to_micros(e.occurred_at) for e in hits], dtype=np.int64),
            )
        )
    fit = [(rule, np.zeros(1, dtype=np.int64)) for rule in fit_rules]
    scores = score_batch(1, fit, matches, ruleset, to_micros(now), explain=True)
    return scores.score(0)
