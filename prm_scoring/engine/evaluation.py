"""How good a probability is: discrimination (AUC with bootstrap
intervals, lift by decile) and calibration (Brier score, expected calibration
error, reliability table), for the model card.
"""

import numpy as np


def _weighted_auc(codes, y, weights):
    """AUC of predictions whose ranks are ``codes`` (equal predictions share a
    code), each row counted ``weights`` times (ties count one half)."""
    n_codes = int(codes.max()) + 1 if len(codes) else 0
    pos = np.bincount(codes, weights=weights * (y == 1), minlength=n_codes)
    neg = np.bincount(codes, weights=weights * (y == 0), minlength=n_codes)
    total_pos, total_neg = pos.sum(), neg.sum()
    if not total_pos or not total_neg:
        return None
    below = np.cumsum(neg) - neg
    return float((pos * (below + 0.5 * neg)).sum() / (total_pos * total_neg))


def auc(p, y):
    """Area under the ROC curve (None when only one outcome occurs).

    >>> auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    0.75
    """
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=int)
    if not len(p):
        return None
    codes = np.unique(p, return_inverse=True)[1]
    return _weighted_auc(codes, y, np.ones(len(p)))


def bootstrap_auc(p, y, q=None, groups=None, n_boot=200, seed=0):
    """95% bootstrap interval of the AUC of ``p`` and, when ``q`` (a second
    set of predictions of the same rows) is given, of AUC(p) - AUC(q) from the
    same resamples.  ``groups`` (e.g. the lead of each snapshot) are resampled
    whole: rows of one group are not independent.  Returns ``{"low",
    "high"}`` and ``{"diff_low", "diff_high"}`` (None when an outcome is
    missing)."""
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=int)
    out = {"low": None, "high": None, "diff_low": None, "diff_high": None}
    if not len(p) or not 0 < y.sum() < len(y):
        return out
    if groups is None:
        groups = np.arange(len(p))
    group_index = np.unique(np.asarray(groups), return_inverse=True)[1]
    n_groups = int(group_index.max()) + 1
    rng = np.random.default_rng(seed)
    codes_p = np.unique(p, return_inverse=True)[1]
    codes_q = None if q is None else np.unique(q, return_inverse=True)[1]
    aucs, diffs = [], []
    for _ in range(n_boot):
        drawn = rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups))
        weights = drawn[group_index].astype(float)
        a = _weighted_auc(codes_p, y, weights)
        if a is None:
            continue
        aucs.append(a)
        if codes_q is not None:
            diffs.append(a - _weighted_auc(codes_q, y, weights))
    if aucs:
        out["low"], out["high"] = (float(v) for v in np.percentile(aucs, [2.5, 97.5]))
    if diffs:
        out["diff_low"], out["diff_high"] = (
            float(v) for v in np.percentile(diffs, [2.5, 97.5])
        )
    return out


def _ranked(p, descending=False, seed=0):
    """Row order by ``p``, equal values in a seeded random order (not in the
    rows' own order, which is often time)."""
    p = np.asarray(p, dtype=float)
    shuffle = np.random.default_rng(seed).random(len(p))
    return np.lexsort((shuffle, -p if descending else p))


def reliability(p, y, bins=10):
    """Reliability table: the rows sorted by predicted probability, in
    ``bins`` groups of equal size; per group the count, the mean prediction
    and the observed rate.

    >>> reliability([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], bins=2)
    [{'count': 2, 'predicted': 0.15000000000000002, 'observed': 0.0}, \
{'count': 2, 'predicted': 0.8500000000000001, 'observed': 1.0}]
    """
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    if not len(p):
        return []
    order = _ranked(p)
    return [
        {
            "count": int(len(chunk)),
            "predicted": float(p[chunk].mean()),
            "observed": float(y[chunk].mean()),
        }
        for chunk in np.array_split(order, min(bins, len(p)))
        if len(chunk)
    ]


def ece(p, y, bins=10):
    """Expected calibration error: the count-weighted mean gap between
    predicted and observed rates over the :func:`reliability` groups.

    >>> round(ece([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], bins=2), 3)
    0.15
    """
    table = reliability(p, y, bins)
    total = sum(row["count"] for row in table)
    if not total:
        return None
    return float(
        sum(row["count"] * abs(row["predicted"] - row["observed"]) for row in table)
        / total
    )


def lift(p, y, bins=10):
    """Lift by decile, highest predictions first: per group, its conversion
    rate and that rate over the overall rate.

    >>> [row["lift"] for row in lift([0.9, 0.8, 0.2, 0.1], [1, 0, 0, 0], bins=2)]
    [2.0, 0.0]
    """
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    if not len(p):
        return []
    overall = y.mean()
    order = _ranked(p, descending=True)
    rows = []
    for i, chunk in enumerate(np.array_split(order, min(bins, len(p)))):
        if len(chunk):
            rate = float(y[chunk].mean())
            rows.append(
                {
                    "decile": i + 1,
                    "count": int(len(chunk)),
                    "rate": rate,
                    "lift": float(rate / overall) if overall else 0.0,
                }
            )
    return rows


def metrics(p, y):
    """AUC, Brier score, log loss and ECE of predictions ``p`` for outcomes
    ``y`` (AUC is None when only one outcome occurs)."""
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    y = np.asarray(y, dtype=int)
    return {
        "auc": auc(p, y),
        "brier": float(np.mean((p - y) ** 2)) if len(p) else None,
        "log_loss": float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
        if len(p)
        else None,
        "ece": ece(p, y),
    }
