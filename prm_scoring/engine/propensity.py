"""Calibrated short-term conversion probability: P(won within H days).

Training rows are *snapshots*: a lead as it was at an instant ``t`` (its
engagement before ``t``, its age and scores then, its declared attributes),
labelled 1 when the lead was won in ``(t, t + H]``.  Snapshots are taken on a
calendar grid (every ``step`` days back from ``now - H``) for every lead open
at that instant, so leads of every age weigh as they do among the open leads
the model will be asked about.

The model is a regularised logistic regression on standardised numeric
features and one-hot attributes (scikit-learn), fitted on the oldest
snapshots, calibrated by isotonic regression on the next slice and judged out
of time on the most recent quarter.  It is kept as plain numbers (JSON):
predicting and explaining need numpy only, never a pickled object.
"""

import math

import numpy as np

from . import evaluation
from . import features as feat

DAY_US = feat.DAY_US
VERSION = 2
MAX_SNAPSHOTS = 400_000
MIN_STEP_DAYS = 7
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)  # inverse regularisation strengths tried
C_SEARCH_ROWS = 60_000  # rows used to choose C (all of them, below that)


class NotEnoughData(ValueError):
    """The history is too short or too one-sided to fit and check a model:
    ``args`` are the part ("fitting", "calibration", "validation"), its
    conversions, its non-conversions and the minimum of each."""

    def __str__(self):
        part, pos, neg, least = self.args
        return (
            f"The {part} part has {pos} conversions and {neg} non-conversions; "
            f"at least {least} of each are needed."
        )


def snapshots(
    created_us,
    closed_us,
    now_us,
    horizon_days,
    max_snapshots=MAX_SNAPSHOTS,
    min_step_days=MIN_STEP_DAYS,
):
    """(lead index, instant) of the training snapshots of leads created at
    ``created_us`` and closed (won or lost) at ``closed_us`` (-1: still open),
    in microseconds: at the instants ``now - H - k * step`` (k = 0, 1, ...),
    every lead created before and still open.  ``step`` is a whole number of
    days, at least ``min_step_days``, chosen so that there are at most
    ``max_snapshots`` snapshots (unless more leads than half of that were
    ever open: each may then have one).

    >>> lead, at = snapshots([0, 0], [-1, 20 * DAY_US], 100 * DAY_US, 30)
    >>> lead.tolist(), (at // DAY_US).tolist()
    ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1], [70, 63, 56, 49, 42, 35, 28, \
21, 14, 7, 0, 14, 7, 0])
    """
    created = np.asarray(created_us, dtype=np.int64)
    closed = np.asarray(closed_us, dtype=np.int64)
    last = int(now_us) - int(horizon_days) * DAY_US
    until = np.where((closed >= 0) & (closed < last), closed, last + 1)
    alive = until > created
    open_days = (until - created)[alive].sum() / DAY_US
    # about open_days / step snapshots, plus up to one more per lead
    room = max(max_snapshots - int(alive.sum()), max_snapshots // 2, 1)
    step_days = max(int(min_step_days), math.ceil(open_days / room))
    step = step_days * DAY_US
    # snapshot k is at last - k * step: created <= t < until
    k_max = np.floor_divide(last - created, step)
    k_min = np.where(until <= last, np.floor_divide(last - until, step) + 1, 0)
    count = np.maximum(k_max - k_min + 1, 0)
    count[created > last] = 0
    lead = np.repeat(np.arange(len(created)), count)
    first = np.repeat(np.cumsum(count) - count, count)
    k = np.repeat(k_min, count) + (np.arange(count.sum()) - first)
    return lead, last - k * step


def labels(won_us, lead, at, horizon_days):
    """1 where the snapshot's lead was won within the horizon after it."""
    won = np.asarray(won_us, dtype=np.int64)[lead]
    return ((won > at) & (won <= at + int(horizon_days) * DAY_US)).astype(np.int8)


def _logit(params, dense, cats):
    z = (np.asarray(dense, dtype=float) - params["mean"]) / params["scale"]
    out = z @ np.asarray(params["coef_numeric"]) + params["intercept"]
    if cats is not None and cats.shape[1]:
        out = out + cats @ np.asarray(params["coef_columns"])
    return np.asarray(out).ravel()


def predict(params, dense, cats=None):
    """Calibrated probabilities (0..1) of the rows of ``dense`` (columns in
    :data:`features.NUMERIC` order) and ``cats`` (one-hot attributes in the
    order of ``params["columns"]``) under ``params`` (from :func:`train`)."""
    if not len(dense):
        return np.zeros(0)
    raw = 1.0 / (1.0 + np.exp(-_logit(params, dense, cats)))
    return np.interp(raw, params["iso_x"], params["iso_y"])


def contributions(params, dense, cats=None):
    """Per row and per group of features (``features.GROUP_LABELS`` keys and
    attribute fields), how much it moves the log-odds away from an average
    lead of the training data.  Returns ``(groups, matrix)``."""
    dense = np.asarray(dense, dtype=float)
    z = (dense - params["mean"]) / params["scale"]
    parts = z * np.asarray(params["coef_numeric"])
    groups = list(dict.fromkeys(group for _name, group in feat.NUMERIC))
    out = np.zeros((len(dense), len(groups) + len(feat.ATTRIBUTES)))
    for col, (_name, group) in enumerate(feat.NUMERIC):
        out[:, groups.index(group)] += parts[:, col]
    fields = list(feat.ATTRIBUTES)
    columns = params.get("columns") or []
    if columns and cats is not None:
        coef = np.asarray(params["coef_columns"])
        mean = np.asarray(params["column_mean"])
        field_of = np.array([fields.index(field) for field, _value in columns])
        held = cats.multiply(coef).tocsr() if hasattr(cats, "multiply") else cats * coef
        for f in range(len(fields)):
            sel = field_of == f
            if sel.any():
                own = np.asarray(held[:, np.nonzero(sel)[0]].sum(axis=1)).ravel()
                out[:, len(groups) + f] = own - float(mean[sel] @ coef[sel])
    return groups + fields, out


def _split(at, valid_share, calib_share, horizon_days=0):
    """Indices of the fitting, calibration and validation snapshots: whole
    grid instants, oldest first, the last ``valid_share`` for validation and
    ``calib_share`` of the rest for calibration.  Before each part, the
    snapshots whose outcome window (``t``, ``t + H``] would reach it are left
    out, so that no win labels two parts.

    >>> days = [d * DAY_US for d in (0, 0, 1, 1, 2, 2, 3, 3)]
    >>> [p.tolist() for p in _split(days, 0.25, 0.2)]
    [[0, 1, 2, 3], [4, 5], [6, 7]]
    >>> [p.tolist() for p in _split(days, 0.25, 0.2, horizon_days=2)]
    [[], [2, 3], [6, 7]]
    """
    at = np.asarray(at, dtype=np.int64)
    order = np.argsort(at, kind="stable")
    instants = at[order]
    n = len(order)
    gap = int(horizon_days) * DAY_US

    def start_of_instant(k):
        return int(np.searchsorted(instants, instants[max(k, 0)])) if k < n else n

    def clear_of(k):
        """End of the snapshots whose window ends before instant ``k``."""
        if k >= n:
            return n
        return min(k, int(np.searchsorted(instants, instants[k] - gap, side="right")))

    v0 = start_of_instant(n - int(math.ceil(n * valid_share)))
    e1 = clear_of(v0)
    c0 = start_of_instant(e1 - int(math.ceil(e1 * calib_share))) if e1 else 0
    e0 = clear_of(c0) if c0 else 0
    return order[:e0], order[c0:e1], order[v0:]


def _design(dense, cats, mean, scale):
    from scipy import sparse

    z = (dense - mean) / scale
    if cats is None or not cats.shape[1]:
        return z
    return sparse.hstack([sparse.csr_matrix(z), cats], format="csr")


def _fit(X, y, C, seed):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=300, tol=1e-4, random_state=seed)
    model.fit(X, y)
    return model


def train(
    dense,
    cats,
    columns,
    y,
    at,
    horizon_days=0,
    valid_share=0.25,
    calib_share=0.3,
    min_positives=10,
    seed=0,
):
    """Fit and judge a model on snapshots (numeric features ``dense``, sparse
    one-hot ``cats`` whose columns are ``columns``, outcomes ``y``, instants
    ``at``), split by time: the oldest for fitting, the next for calibration,
    the most recent ``valid_share`` for validation, with a gap of the
    horizon between the parts (see :func:`_split`).  The regularisation is
    the one of :data:`C_GRID` with the best log loss on the calibration part.

    :return: ``params`` (for :func:`predict`) with the validation metrics,
        the reliability and lift tables, the base rate and the sample sizes
    :raises NotEnoughData: too few snapshots or positives in some part
    """
    dense = np.asarray(dense, dtype=float)
    y = np.asarray(y, dtype=np.int8)
    fit_idx, calib_idx, valid_idx = _split(at, valid_share, calib_share, horizon_days)
    for name, idx in (
        ("fitting", fit_idx),
        ("calibration", calib_idx),
        ("validation", valid_idx),
    ):
        pos = int(y[idx].sum()) if len(idx) else 0
        if pos < min_positives or len(idx) - pos < min_positives:
            raise NotEnoughData(name, pos, len(idx) - pos, min_positives)
    mean = dense[fit_idx].mean(axis=0)
    scale = dense[fit_idx].std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    X_fit = _design(
        dense[fit_idx], cats[fit_idx] if cats is not None else None, mean, scale
    )
    X_calib = _design(
        dense[calib_idx], cats[calib_idx] if cats is not None else None, mean, scale
    )
    # choose the regularisation on (a sample of) the fitting part
    rng = np.random.default_rng(seed)
    search = np.arange(len(fit_idx))
    if len(search) > C_SEARCH_ROWS:
        search = np.sort(rng.choice(search, C_SEARCH_ROWS, replace=False))
    best = None
    for C in C_GRID:
        model = _fit(X_fit[search], y[fit_idx][search], C, seed)
        p = np.clip(model.predict_proba(X_calib)[:, 1], 1e-6, 1 - 1e-6)
        loss = evaluation.metrics(p, y[calib_idx])["log_loss"]
        if best is None or loss < best[0]:
            best = (loss, C, model)
    _loss, C, model = best
    if len(search) < len(fit_idx):
        model = _fit(X_fit, y[fit_idx], C, seed)
    n_num = dense.shape[1]
    coef = model.coef_[0]
    params = {
        "version": VERSION,
        "numeric": list(feat.NUMERIC_NAMES),
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "coef_numeric": coef[:n_num].tolist(),
        "columns": [list(col) for col in columns],
        "coef_columns": coef[n_num:].tolist(),
        "column_mean": (
            np.asarray(cats[fit_idx].mean(axis=0)).ravel().tolist()
            if cats is not None and cats.shape[1]
            else []
        ),
        "intercept": float(model.intercept_[0]),
        "C": C,
        "iso_x": [0.0, 1.0],
        "iso_y": [0.0, 1.0],
    }
    from sklearn.isotonic import IsotonicRegression

    sub = (lambda idx: cats[idx]) if cats is not None else (lambda idx: None)
    raw_calib = predict(params, dense[calib_idx], sub(calib_idx))
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    iso.fit(raw_calib, y[calib_idx])
    params["iso_x"] = [float(v) for v in iso.X_thresholds_]
    params["iso_y"] = [float(v) for v in iso.y_thresholds_]
    p_valid = predict(params, dense[valid_idx], sub(valid_idx))
    y_valid = y[valid_idx]
    base_rate = float(y[np.concatenate([fit_idx, calib_idx])].mean())
    return {
        "params": params,
        "sizes": {
            "fitting": int(len(fit_idx)),
            "calibration": int(len(calib_idx)),
            "validation": int(len(valid_idx)),
            "positives": int(y.sum()),
        },
        "base_rate": base_rate,
        "validation": evaluation.metrics(p_valid, y_valid),
        "base_rate_brier": float(np.mean((base_rate - y_valid) ** 2)),
        "valid_index": valid_idx,
        "valid_predictions": p_valid,
    }
