"""What the conversion model sees of a lead at an instant: its engagement
before that instant (counts by kind over several windows, recency, rhythm,
trend), its age, its scores, and its declared attributes one-hot.

Everything is computed for many snapshots ``(lead index, instant)`` at once
from flat arrays of events, without a loop over leads.
"""

import numpy as np

DAY_US = 86_400_000_000
RECENCY_CAP = 365.0  # days; "never" counts as this

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
KIND_NAMES = ("view", "open", "click", "form", "talk")
KIND_INDEX = {kind: i for i, kind in enumerate(KIND_NAMES)}
WINDOWS = (7, 30, 90, None)  # days before the instant; None: ever
AGE_BUCKETS = (7, 30, 90, 180, 365)  # upper bounds (days) of the age groups


def _numeric_features():
    names = []
    for kind in KIND_NAMES:
        for days in WINDOWS:
            names.append((f"{kind}_{days or 'ever'}", kind))
    names += [
        ("recency", "recency"),
        ("never_engaged", "recency"),
        ("active_days_30", "rhythm"),
        ("per_active_day_30", "rhythm"),
        ("trend", "rhythm"),
        ("age_log", "age"),
    ]
    low = 0
    for high in AGE_BUCKETS:
        names.append((f"age_{low}_{high}", "age"))
        low = high
    names.append((f"age_{low}_more", "age"))
    names += [("fit", "fit"), ("engagement", "engagement")]
    return tuple(names)


#: (column name, group) of the dense features, in column order
NUMERIC = _numeric_features()
NUMERIC_NAMES = tuple(name for name, _group in NUMERIC)

#: declared attributes of a lead (and its stage at the instant), one-hot
ATTRIBUTES = (
    "country",
    "source",
    "medium",
    "campaign",
    "team",
    "industry",
    "company_size",
    "function",
    "seniority",
    "email_kind",
    "phone",
    "age_band",
    "tag",
    "interest",
    "stage",
)

FREE_MAIL_DOMAINS = frozenset(
    """
    gmail.com googlemail.com yahoo.com yahoo.fr yahoo.es yahoo.it yahoo.de
    yahoo.co.uk ymail.com hotmail.com hotmail.fr hotmail.es hotmail.it
    hotmail.de hotmail.co.uk outlook.com outlook.fr outlook.es outlook.it
    outlook.de live.com live.fr live.it live.de msn.com aol.com icloud.com
    me.com mac.com gmx.com gmx.de gmx.net gmx.at web.de t-online.de
    libero.it virgilio.it tiscali.it alice.it tin.it orange.fr wanadoo.fr
    free.fr laposte.net sfr.fr proton.me protonmail.com pm.me tutanota.com
    zoho.com yandex.com yandex.ru mail.ru qq.com 163.com 126.com naver.com
    telefonica.net terra.com.br uol.com.br bol.com.br mail.com
    """.split()
)

SENIORITY = (
    ("executive", ("ceo", "cto", "cfo", "coo", "cmo", "cio", "chief", "founder",
                   "owner", "president", "managing director", "partner",
                   "director general", "gerente general", "amministratore")),
    ("director", ("director", "head of", "vp", "vice president", "directeur",
                  "direttore", "responsable", "responsabile")),
    ("manager", ("manager", "lead", "supervisor", "jefe", "capo")),
    ("individual", ("engineer", "developer", "analyst", "specialist",
                    "consultant", "assistant", "associate", "coordinator",
                    "officer", "executive", "representative", "designer")),
)  # fmt: skip


def kind_of(code):
    """Index of the feature kind of an event type code, or -1.

    >>> kind_of("email_click"), kind_of("download"), kind_of("unknown")
    (2, 3, -1)
    """
    kind = KINDS.get(code)
    return KIND_INDEX[kind] if kind else -1


def email_kind(email):
    """ "free", "business" or "" (no address) for an email address.

    >>> email_kind("Ana <ana@Gmail.com>"), email_kind("bo@acme.io"), email_kind("")
    ('free', 'business', '')
    """
    if not email or "@" not in email:
        return ""
    domain = email.rsplit("@", 1)[1].strip().strip(">").lower()
    return "free" if domain in FREE_MAIL_DOMAINS else "business"


def seniority(function):
    """A coarse seniority from a free-text job position ("" when none).

    >>> seniority("Chief Marketing Officer"), seniority("Sales Manager")
    ('executive', 'manager')
    >>> seniority("Head of IT"), seniority("Plumber"), seniority(None)
    ('director', 'other', '')
    """
    text = " ".join((function or "").lower().split())
    if not text:
        return ""
    words = set(text.replace("-", " ").replace("/", " ").split())
    for level, keys in SENIORITY:
        for key in keys:
            if (" " in key and key in text) or key in words:
                return level
    return "other"


def normalize_function(function):
    """A job position as a category value: lower case, single spaces.

    >>> normalize_function("  Sales   Manager ")
    'sales manager'
    """
    return " ".join((function or "").lower().split())


def event_features(snap_lead, snap_at, ev_lead, ev_at, ev_kind):
    """Engagement columns of :data:`NUMERIC` (before ``age_log``) for each
    snapshot, from the events strictly before its instant.

    ``snap_lead``/``ev_lead`` index the same leads; instants are microseconds.
    Returns ``(features, counts)``: the (n, k) feature block (log counts) and
    the raw counts (n, kinds, windows) used to describe them.
    """
    n = len(snap_lead)
    n_windows = len(WINDOWS)
    counts = np.zeros((n, len(KIND_NAMES), n_windows))
    rhythm = np.zeros((n, 5))
    rhythm[:, 0] = RECENCY_CAP
    rhythm[:, 1] = 1.0
    if n and len(ev_lead):
        ev_lead = np.asarray(ev_lead, dtype=np.int64)
        ev_kind = np.asarray(ev_kind, dtype=np.int64)
        seconds = np.asarray(ev_at, dtype=np.int64) // 1_000_000
        snap_s = np.asarray(snap_at, dtype=np.int64) // 1_000_000
        snap_lead = np.asarray(snap_lead, dtype=np.int64)
        # one sortable key per (lead, second): events of a lead stay together
        # (whole days from the epoch of the instants: calendar days in UTC)
        base = (min(seconds.min(), snap_s.min()) // 86400 - 100) * 86400
        span = int(max(seconds.max(), snap_s.max()) - base + 2)

        def key(lead, second):
            return lead * span + (second - base)

        hi = key(snap_lead, snap_s)  # events strictly before the instant
        lo = key(snap_lead, base)  # first possible key of the lead

        def since(keys, days):
            start = lo if days is None else np.maximum(lo, hi - days * 86400)
            return np.searchsorted(keys, hi) - np.searchsorted(keys, start)

        for kind in range(len(KIND_NAMES)):
            keys = np.sort(key(ev_lead[ev_kind == kind], seconds[ev_kind == kind]))
            for w, days in enumerate(WINDOWS):
                counts[:, kind, w] = since(keys, days)
        keys = np.sort(key(ev_lead, seconds))
        before = np.searchsorted(keys, hi)
        has = before > np.searchsorted(keys, lo)
        last = np.where(has, keys[np.maximum(before - 1, 0)], 0)
        rhythm[:, 0] = np.where(
            has, np.minimum((hi - last) / 86400.0, RECENCY_CAP), RECENCY_CAP
        )
        rhythm[:, 1] = (~has).astype(float)
        # distinct days with activity in the last 30 days (the 29 days
        # before the instant's day, and that day up to the instant)
        days_per_lead = span // 86400 + 2
        day_keys = np.unique(ev_lead * days_per_lead + (seconds - base) // 86400)
        snap_day = snap_lead * days_per_lead + (snap_s - base) // 86400
        earlier_days = np.searchsorted(day_keys, snap_day) - np.searchsorted(
            day_keys, snap_day - 29
        )
        day_start = hi - (snap_s - base) % 86400
        today = np.searchsorted(keys, hi) > np.searchsorted(keys, day_start)
        active = earlier_days + today
        total_30 = since(keys, 30)
        rhythm[:, 2] = np.log1p(active)
        rhythm[:, 3] = np.where(active > 0, total_30 / np.maximum(active, 1), 0.0)
        # trend: the last 14 days against the 28 before them (per 14 days)
        recent = since(keys, 14)
        earlier = since(keys, 42) - recent
        rhythm[:, 4] = np.log1p(recent) - np.log1p(earlier / 2.0)
    logs = np.log1p(counts.reshape(n, len(KIND_NAMES) * n_windows))
    rhythm[:, 0] = np.log1p(rhythm[:, 0])
    return np.hstack([logs, rhythm]), counts


def age_features(age_days):
    """``age_log`` and the one-hot age groups of :data:`NUMERIC`.

    >>> age_features([3, 400]).tolist()
    [[1.3862943611198906, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0], \
[5.993961427306569, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]]
    """
    age = np.maximum(np.asarray(age_days, dtype=float), 0.0)
    bucket = np.searchsorted(np.asarray(AGE_BUCKETS, dtype=float), age, side="right")
    onehot = np.zeros((len(age), len(AGE_BUCKETS) + 1))
    onehot[np.arange(len(age)), bucket] = 1.0
    return np.column_stack([np.log1p(age), onehot])


def assemble(engagement_block, age_days, fit, engagement):
    """The dense matrix in :data:`NUMERIC` order."""
    return np.column_stack(
        [
            engagement_block,
            age_features(age_days),
            np.asarray(fit, dtype=float),
            np.asarray(engagement, dtype=float),
        ]
    )


def vocabulary(lead_values, min_count=10):
    """Columns of the one-hot attribute block: the ``(field, value)`` pairs
    held by at least ``min_count`` leads (rarer values share the baseline).

    ``lead_values`` is one dict per lead, field -> value or list of values
    ("" for not set).

    >>> vocabulary([{"country": "BE"}, {"country": "BE"}, {"country": "FR"}], 2)
    [('country', 'BE')]
    """
    counts = {}
    for values in lead_values:
        for field, value in values.items():
            for v in value if isinstance(value, list | tuple | set) else (value,):
                counts[(field, v)] = counts.get((field, v), 0) + 1
    return sorted(pair for pair, count in counts.items() if count >= min_count)


def encode(lead_values, columns):
    """Sparse (leads x columns) 0/1 matrix of the attributes of each lead
    (values: a string, or a list of strings)."""
    from scipy import sparse

    index = {tuple(col): i for i, col in enumerate(columns)}
    rows, cols = [], []
    get = index.get
    for row, values in enumerate(lead_values):
        for field, value in values.items():
            if type(value) is str:  # noqa: E721 the common case, checked fast
                col = get((field, value))
                if col is not None:
                    rows.append(row)
                    cols.append(col)
                continue
            for v in value:
                col = get((field, v))
                if col is not None:
                    rows.append(row)
                    cols.append(col)
    data = np.ones(len(rows))
    return sparse.csr_matrix(
        (data, (rows, cols)), shape=(len(lead_values), len(columns))
    )
