"""Calibrated short-term conversion probability: P(won within H days).

Training rows are *snapshots*: a lead as it was at an instant ``t`` (features
from what had happened before ``t`` only), labelled 1 when the lead was won
in ``(t, t + H]``.  Snapshots are taken at fixed ages of each lead (0, 7, 30
and 90 days) while it was open and early enough (``t <= now - H``) for the
outcome to be known.

The model is a logistic regression on standardised features, fitted on the
older snapshots, then calibrated by isotonic regression on the next, more
recent slice, and judged out of time on the most recent quarter (AUC, Brier
score, calibration table).  It is kept as plain numbers (JSON), so predicting
needs numpy only: no pickled objects.
"""

import math

import numpy as np

DAY_US = 86_400_000_000
SNAPSHOT_AGES = (0, 7, 30, 90)  # days after creation
RECENCY_CAP = 180.0  # days; "never" counts as this

# event kinds counted by the features (type codes -> kind)
KINDS = {
    "page_view": "view",
    "email_open": "open",
    "email_click": "click",
    "email_reply": "click",
    "form_submit": "form",
    "registration": "form",
    "download": "form",
    "call": "talk",
    "meeting": "talk",
}
KIND_INDEX = {
    kind: i for i, kind in enumerate(("view", "open", "click", "form", "talk"))
}

FEATURES = (
    ("fit", "Fit score (0-100)"),
    ("engagement", "Engagement score at that time (0-100)"),
    ("views_7d", "Page views in the 7 days before (log)"),
    ("views_30d", "Page views in the 30 days before (log)"),
    ("opens_30d", "Email opens in the 30 days before (log)"),
    ("clicks_30d", "Email clicks and replies in the 30 days before (log)"),
    ("forms", "Forms, registrations and downloads so far (log)"),
    ("talks", "Calls and meetings so far (log)"),
    ("recency", "Days since the last event (capped at 180)"),
    ("age", "Age of the lead in days (log)"),
)


class NotEnoughData(ValueError):
    """The history is too short or too one-sided to fit and check a model."""


def kind_of(code):
    """Index of the feature kind of an event type code, or -1."""
    kind = KINDS.get(code)
    return KIND_INDEX[kind] if kind else -1


def snapshots(created_us, closed_us, now_us, horizon_days, ages=SNAPSHOT_AGES):
    """(lead index, instant) of the training snapshots of leads created at
    ``created_us`` and closed (won or lost) at ``closed_us`` (-1: still open),
    all in microseconds: each age at which the lead was still open and whose
    horizon ended before ``now_us``."""
    created_us = np.asarray(created_us, dtype=np.int64)
    closed_us = np.asarray(closed_us, dtype=np.int64)
    last = now_us - int(horizon_days) * DAY_US
    lead, at = [], []
    for age in ages:
        t = created_us + age * DAY_US
        ok = (t <= last) & ((closed_us < 0) | (t < closed_us))
        lead.append(np.nonzero(ok)[0])
        at.append(t[ok])
    lead = np.concatenate(lead) if lead else np.zeros(0, dtype=np.int64)
    at = np.concatenate(at) if at else np.zeros(0, dtype=np.int64)
    return lead, at


def labels(won_us, lead, at, horizon_days):
    """1 where the snapshot's lead was won within the horizon after it."""
    won = np.asarray(won_us, dtype=np.int64)[lead]
    return ((won > at) & (won <= at + int(horizon_days) * DAY_US)).astype(np.int8)


def event_counts(snap_lead, snap_at, ev_lead, ev_at, ev_kind):
    """Per snapshot: counts of views in 7 and 30 days, opens and clicks in 30
    days, forms and talks ever, and days since the last event, from the events
    strictly before the snapshot instant.  Returns an (n, 7) float array."""
    n = len(snap_lead)
    out = np.zeros((n, 7))
    out[:, 6] = RECENCY_CAP
    if not n or not len(ev_lead):
        return out
    ev_lead = np.asarray(ev_lead, dtype=np.int64)
    ev_at = np.asarray(ev_at, dtype=np.int64)
    ev_kind = np.asarray(ev_kind, dtype=np.int64)
    seconds = ev_at // 1_000_000
    snap_s = np.asarray(snap_at, dtype=np.int64) // 1_000_000
    # one sortable key per (lead, second): events of a lead stay together
    base = min(seconds.min(), snap_s.min()) - 31 * 86400
    span = int(max(seconds.max(), snap_s.max()) - base + 2)

    def key(lead, second):
        return lead * span + (second - base)

    snap_lead = np.asarray(snap_lead, dtype=np.int64)
    hi = key(snap_lead, snap_s)  # events before this key (strictly earlier)
    lo_lead = key(snap_lead, base)  # first possible key of the lead
    for col, kind, days in (
        (0, KIND_INDEX["view"], 7),
        (1, KIND_INDEX["view"], 30),
        (2, KIND_INDEX["open"], 30),
        (3, KIND_INDEX["click"], 30),
        (4, KIND_INDEX["form"], None),
        (5, KIND_INDEX["talk"], None),
    ):
        sel = ev_kind == kind
        keys = np.sort(key(ev_lead[sel], seconds[sel]))
        start = (
            lo_lead
            if days is None
            else np.maximum(lo_lead, key(snap_lead, snap_s - days * 86400))
        )
        out[:, col] = np.searchsorted(keys, hi) - np.searchsorted(keys, start)
    keys = np.sort(key(ev_lead, seconds))
    before = np.searchsorted(keys, hi)  # events of any lead before hi
    has = before > np.searchsorted(keys, lo_lead)
    last = np.where(has, keys[np.maximum(before - 1, 0)], 0)
    recency = (hi - last) / 86400.0
    out[:, 6] = np.where(has, np.minimum(recency, RECENCY_CAP), RECENCY_CAP)
    return out


def assemble(fit, engagement, counts, age_days):
    """The feature matrix (columns in :data:`FEATURES` order)."""
    counts = np.asarray(counts, dtype=float)
    return np.column_stack(
        [
            np.asarray(fit, dtype=float),
            np.asarray(engagement, dtype=float),
            np.log1p(counts[:, 0]),
            np.log1p(counts[:, 1]),
            np.log1p(counts[:, 2]),
            np.log1p(counts[:, 3]),
            np.log1p(counts[:, 4]),
            np.log1p(counts[:, 5]),
            counts[:, 6],
            np.log1p(np.maximum(np.asarray(age_days, dtype=float), 0.0)),
        ]
    )


def predict(params, X):
    """Calibrated probabilities (0..1) of the rows of ``X`` under ``params``
    (as returned by :func:`train`)."""
    X = np.asarray(X, dtype=float)
    if not len(X):
        return np.zeros(0)
    z = (X - np.asarray(params["mean"])) / np.asarray(params["scale"])
    raw = 1.0 / (1.0 + np.exp(-(z @ np.asarray(params["coef"]) + params["intercept"])))
    return np.interp(raw, params["iso_x"], params["iso_y"])


def calibration_table(p, y, bins=10):
    """Reliability table: per decile of predicted probability, the number of
    snapshots, the mean prediction and the observed rate."""
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    if not len(p):
        return []
    order = np.argsort(p, kind="stable")
    rows = []
    for chunk in np.array_split(order, min(bins, len(p))):
        if len(chunk):
            rows.append(
                {
                    "count": int(len(chunk)),
                    "predicted": float(p[chunk].mean()),
                    "observed": float(y[chunk].mean()),
                }
            )
    return rows


def metrics(p, y):
    """AUC, Brier score and log loss of predictions ``p`` for outcomes ``y``
    (AUC is None when only one outcome occurs)."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    y = np.asarray(y, dtype=int)
    both = 0 < y.sum() < len(y)
    return {
        "auc": float(roc_auc_score(y, p)) if both else None,
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
    }


def train(X, y, at, valid_share=0.25, calib_share=0.3, min_positives=10, seed=0):
    """Fit and judge a model on snapshots (``X``, outcomes ``y``, instants
    ``at``), split by time: the oldest for fitting, the next for calibration,
    the most recent ``valid_share`` for validation.

    :return: ``params`` (for :func:`predict`) with the validation metrics,
        the calibration table, the base rate and the sample sizes
    :raises NotEnoughData: too few snapshots or positives in some part
    """
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=np.int8)
    order = np.argsort(np.asarray(at), kind="stable")
    n = len(order)
    n_valid = int(math.ceil(n * valid_share))
    n_calib = int(math.ceil((n - n_valid) * calib_share))
    fit_idx = order[: n - n_valid - n_calib]
    calib_idx = order[n - n_valid - n_calib : n - n_valid]
    valid_idx = order[n - n_valid :]
    parts = (
        ("fitting", fit_idx),
        ("calibration", calib_idx),
        ("validation", valid_idx),
    )
    for name, idx in parts:
        pos = int(y[idx].sum()) if len(idx) else 0
        if pos < min_positives or len(idx) - pos < min_positives:
            raise NotEnoughData(
                f"The {name} part has {pos} conversions and {len(idx) - pos} "
                f"non-conversions; at least {min_positives} of each are needed."
            )
    mean = X[fit_idx].mean(axis=0)
    scale = X[fit_idx].std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    model = LogisticRegression(C=1.0, max_iter=1000, random_state=seed)
    model.fit((X[fit_idx] - mean) / scale, y[fit_idx])
    params = {
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "coef": model.coef_[0].tolist(),
        "intercept": float(model.intercept_[0]),
        "iso_x": [0.0, 1.0],
        "iso_y": [0.0, 1.0],
    }
    raw_calib = predict(params, X[calib_idx])
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    iso.fit(raw_calib, y[calib_idx])
    params["iso_x"] = [float(v) for v in iso.X_thresholds_]
    params["iso_y"] = [float(v) for v in iso.y_thresholds_]
    p_valid = predict(params, X[valid_idx])
    y_valid = y[valid_idx]
    base_rate = float(y[np.concatenate([fit_idx, calib_idx])].mean())
    result = dict(params)
    result.update(
        {
            "sizes": {
                "fitting": int(len(fit_idx)),
                "calibration": int(len(calib_idx)),
                "validation": int(len(valid_idx)),
                "positives": int(y.sum()),
            },
            "base_rate": base_rate,
            "validation": metrics(p_valid, y_valid),
            "base_rate_brier": float(np.mean((base_rate - y_valid) ** 2)),
            "calibration": calibration_table(p_valid, y_valid),
            "valid_index": valid_idx.tolist(),
            "valid_predictions": p_valid.tolist(),
        }
    )
    return result
