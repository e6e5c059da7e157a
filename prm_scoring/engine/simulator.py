"""A prospect simulator with known truth, for the demo and the benchmarks.

Each prospect has declared attributes (source, country, company size, job
position, email domain, ...) that set a hidden quality ``q``.  Day by day it
is either *cold* or *evaluating* (a buying phase it enters and leaves at
random, more often when ``q`` is high); it buys only while evaluating, and
sales mark leads lost now and then.  Engagement (page views, email opens and
clicks, forms, calls) is a Poisson stream whose rate depends on the phase and
rises the longer an evaluation lasts, so engagement rises before a purchase;
salespeople move evaluating leads to later stages, with some delay.

Because the phases are a Markov chain with known daily probabilities,
:meth:`Scenario.oracle` gives each open prospect's true probability of being
won within the next ``H`` days, given what the simulator (not the CRM) knows:
the best any model could do.

Everything is numpy and seeded: the same arguments give the same history.
"""

import math

import numpy as np

COLD, EVALUATING, WON, LOST = 0, 1, 2, 3

# (name, medium, weight, effect on q, cost per lead)
SOURCES = (
    ("Google Ads", "cpc", 0.26, -0.35, 160.0),
    ("LinkedIn Ads", "social", 0.14, 0.25, 290.0),
    ("Facebook Ads", "social", 0.12, -0.8, 60.0),
    ("Newsletter", "email", 0.14, 0.0, 18.0),
    ("Organic search", "organic", 0.18, 0.15, 0.0),
    ("Referral", "referral", 0.08, 0.9, 0.0),
    ("Trade show", "event", 0.08, 0.55, 520.0),
)
COUNTRIES = (
    ("ES", 0.25, 0.0), ("IT", 0.22, -0.1), ("FR", 0.14, 0.05),
    ("DE", 0.12, 0.2), ("BE", 0.07, 0.1), ("US", 0.12, 0.15), ("MX", 0.08, -0.25),
)  # fmt: skip
SIZES = (("1_10", 0.35, -0.45), ("11_50", 0.3, 0.0), ("51_200", 0.22, 0.35),
         ("201_1000", 0.09, 0.5), ("1001_plus", 0.04, 0.4))  # fmt: skip
DEAL_SIZE = (2_000, 6_000, 15_000, 40_000, 90_000)  # typical revenue by size
INDUSTRIES = (
    ("Manufacturing", 0.2, 0.3), ("Retail", 0.2, -0.2), ("Software", 0.15, 0.2),
    ("Construction", 0.15, -0.1), ("Healthcare", 0.1, 0.15),
    ("Education", 0.1, -0.4), ("Hospitality", 0.1, -0.3),
)  # fmt: skip
FUNCTIONS = (
    ("CEO", 0.12, 0.45), ("Founder", 0.06, 0.35), ("Sales Director", 0.08, 0.3),
    ("Head of Marketing", 0.08, 0.3), ("IT Manager", 0.12, 0.15),
    ("Operations Manager", 0.1, 0.1), ("Sales Representative", 0.12, -0.2),
    ("Marketing Assistant", 0.1, -0.35), ("Student", 0.07, -1.0), ("", 0.15, -0.1),
)  # fmt: skip
TAGS = (("Product", 0.5, 0.2), ("Services", 0.3, 0.0), ("Training", 0.2, -0.3))
FREE_MAIL = ("gmail.com", "hotmail.com", "yahoo.com", "outlook.com", "libero.it")
FIRST = tuple(
    "Ana Luca Marta Giulia Pablo Sofia Marco Lucia Javier Chiara Elena Paolo "
    "Carmen Davide Laura Hugo".split()
)
LAST = tuple(
    "Garcia Rossi Martinez Bianchi Lopez Romano Sanchez Ricci Moreno Greco Diaz "
    "Conti Ruiz Costa Navarro".split()
)
WORDS = tuple(
    "Alpha Nova Terra Blue Iberia Delta Vento Sol Prima Orion Lince Faro Astra "
    "Roble Cima".split()
)

KIND_CODES = ("page_view", "email_open", "email_click", "form_submit", "call")
# events per day by kind: cold, evaluating (before the ramp)
RATES = np.array(
    [
        [0.030, 0.030, 0.004, 0.0012, 0.0006],
        [0.350, 0.180, 0.080, 0.0300, 0.0350],
    ]
)
RAMP_DAYS = 12.0  # evaluating: rates x (1 + days evaluating / RAMP_DAYS), capped
RAMP_CAP = 3.0
PAGES_COLD = ("/blog", "/blog/tips", "/", "/about", "/blog/news")
PAGES_HOT = ("/pricing", "/demo", "/product", "/pricing", "/case-studies", "/")
FORMS = ("contact", "whitepaper", "webinar", "demo request")
FORM_CODES = {"whitepaper": "download", "webinar": "registration"}
#: every event type code the simulator writes
EVENT_CODES = (*KIND_CODES, "download", "registration", "meeting")


def _pick(rng, table, n, column=1):
    weights = np.array([row[column] for row in table], dtype=float)
    return rng.choice(len(table), size=n, p=weights / weights.sum())


class Scenario:
    """A simulated history: see the module docstring.

    Days are floats from the start of the history; ``cutoff`` is the last day
    the CRM knows (the simulation goes on ``horizon`` days further)."""

    def __init__(self, n=2000, days=365, horizon=30, seed=0):
        self.n, self.days, self.horizon, self.seed = n, days, horizon, seed
        self.cutoff = float(days)
        rng = np.random.default_rng(seed)
        total = days + horizon
        # more prospects lately: the business grows
        self.created = np.sort(total * np.sqrt(rng.random(n)))
        self.source = _pick(rng, SOURCES, n, column=2)
        self.country = _pick(rng, COUNTRIES, n)
        self.size = _pick(rng, SIZES, n)
        self.industry = _pick(rng, INDUSTRIES, n)
        self.function = _pick(rng, FUNCTIONS, n)
        self.tag = _pick(rng, TAGS, n)
        self.free_mail = rng.random(n) < np.where(self.size == 0, 0.55, 0.2)
        self.phone = rng.random(n) < 0.45
        self.q = (
            np.array([s[3] for s in SOURCES])[self.source]
            + np.array([c[2] for c in COUNTRIES])[self.country]
            + np.array([s[2] for s in SIZES])[self.size]
            + np.array([i[2] for i in INDUSTRIES])[self.industry]
            + np.array([f[2] for f in FUNCTIONS])[self.function]
            + np.array([t[2] for t in TAGS])[self.tag]
            - 0.6 * self.free_mail
            + 0.4 * self.phone
            + rng.normal(0.0, 0.5, n)
        )
        self._simulate(rng, total)

    # daily transition probabilities of each prospect (see oracle)
    def _rates(self, age):
        enter = np.minimum(0.006 * np.exp(0.9 * self.q), 0.12)
        buy = np.minimum(0.035 * np.exp(0.35 * self.q), 0.2)
        back = np.full(self.n, 0.035)
        lost_cold = np.where(age > 45, 0.006, 0.0)
        lost_eval = np.full(self.n, 0.008)
        return enter, buy, back, lost_cold, lost_eval

    def _simulate(self, rng, total):
        n = self.n
        state = np.full(n, COLD)
        since = np.zeros(n)  # days evaluating
        self.won_day = np.full(n, np.nan)
        self.lost_day = np.full(n, np.nan)
        self.evaluating_days = []  # (day, mask) snapshots for the oracle
        self.state_at = {}
        ev_p, ev_day, ev_kind = [], [], []
        stage_p, stage_day, stage_key = [], [], []
        stage = np.zeros(n, dtype=np.int8)  # 0 new, 1 qualified, 2 proposition
        for day in range(int(math.ceil(total))):
            alive = (self.created < day + 1) & (state < WON)
            self.state_at[day] = state.copy()
            # engagement during the day (from creation on)
            start = np.maximum(self.created, day)
            share = np.clip(day + 1 - start, 0.0, 1.0) * alive
            ramp = np.minimum(1.0 + since / RAMP_DAYS, RAMP_CAP)
            rates = np.where(
                (state == EVALUATING)[:, None],
                RATES[1] * ramp[:, None],
                RATES[0] * np.exp(0.25 * self.q)[:, None],
            )
            counts = rng.poisson(rates * share[:, None])
            who, kind = np.nonzero(counts)
            reps = counts[who, kind]
            who, kind = np.repeat(who, reps), np.repeat(kind, reps)
            at = start[who] + rng.random(len(who)) * (day + 1 - start[who])
            ev_p.append(who)
            ev_day.append(at)
            ev_kind.append(kind)
            # salespeople follow evaluating leads, with some delay
            talked = np.zeros(n, dtype=bool)
            talked[who[kind == 4]] = True
            move1 = (state == EVALUATING) & (stage == 0) & (rng.random(n) < 0.15)
            move2 = (stage == 1) & talked
            for mask, new in ((move1, 1), (move2, 2)):
                idx = np.nonzero(mask)[0]
                stage[idx] = new
                stage_p.append(idx)
                stage_day.append(day + rng.random(len(idx)))
                stage_key.append(np.full(len(idx), new))
            # transitions at the end of the day
            age = day + 1 - self.created
            enter, buy, back, lost_cold, lost_eval = self._rates(age)
            u = rng.random(n)
            cold = alive & (state == COLD)
            ev = alive & (state == EVALUATING)
            to_eval = cold & (u < enter)
            lost_c = cold & (u >= enter) & (u < enter + lost_cold)
            won = ev & (u < buy)
            back_c = ev & (u >= buy) & (u < buy + back)
            lost_e = ev & (u >= buy + back) & (u < buy + back + lost_eval)
            since = np.where(ev & ~(won | back_c | lost_e), since + 1, 0.0)
            state = np.where(to_eval, EVALUATING, state)
            state = np.where(back_c, COLD, state)
            state = np.where(won, WON, state)
            state = np.where(lost_c | lost_e, LOST, state)
            close_at = day + 1 - rng.random(n) * 0.5
            self.won_day[won] = close_at[won]
            self.lost_day[lost_c | lost_e] = close_at[lost_c | lost_e]
        self.ev_prospect = np.concatenate(ev_p)
        self.ev_day = np.concatenate(ev_day)
        self.ev_kind = np.concatenate(ev_kind)
        self.stage_prospect = np.concatenate(stage_p).astype(np.int64)
        self.stage_day = np.concatenate(stage_day)
        self.stage_key = np.concatenate(stage_key)
        self.final_stage = stage

    def oracle(self, day=None):
        """True probability that each prospect is won in the ``horizon`` days
        after ``day`` (default: the cutoff), from its phase then; NaN for the
        prospects not open then."""
        day = int(self.cutoff if day is None else day)
        state = self.state_at[day]
        p_cold = ((state == COLD) & (self.created < day)).astype(float)
        p_eval = ((state == EVALUATING) & (self.created < day)).astype(float)
        won = np.zeros(self.n)
        for d in range(day, day + self.horizon):
            enter, buy, back, lost_cold, lost_eval = self._rates(d + 1 - self.created)
            won += p_eval * buy
            p_cold, p_eval = (
                p_cold * (1 - enter - lost_cold) + p_eval * back,
                p_cold * enter + p_eval * (1 - buy - back - lost_eval),
            )
        is_open = self.is_open(day)
        return np.where(is_open, won, np.nan)

    def is_open(self, day=None):
        """Prospects created before ``day`` and neither won nor lost then."""
        day = self.cutoff if day is None else day
        return (self.created < day) & ~(self.won_day <= day) & ~(self.lost_day <= day)

    def outcome(self, day=None):
        """1 for the prospects won in ``(day, day + horizon]``."""
        day = self.cutoff if day is None else day
        return ((self.won_day > day) & (self.won_day <= day + self.horizon)).astype(int)

    def profiles(self):
        """One dict per prospect: what a CRM would hold of it."""
        rng = np.random.default_rng(self.seed + 1)
        out = []
        for i in range(self.n):
            first = FIRST[rng.integers(len(FIRST))]
            last = LAST[rng.integers(len(LAST))]
            company = (
                f"{WORDS[rng.integers(len(WORDS))]} {LAST[rng.integers(len(LAST))]}"
            )
            domain = (
                FREE_MAIL[rng.integers(len(FREE_MAIL))]
                if self.free_mail[i]
                else company.lower().replace(" ", "-") + ".example"
            )
            source = SOURCES[self.source[i]]
            out.append(
                {
                    "name": f"{first} {last}",
                    "email": f"{first.lower()}.{last.lower()}.{i}@{domain}",
                    "company": company,
                    "function": FUNCTIONS[self.function[i]][0],
                    "country": COUNTRIES[self.country[i]][0],
                    "source": source[0],
                    "medium": source[1],
                    "campaign": f"{source[0]} {1 + int(self.created[i] // 91)}",
                    "industry": INDUSTRIES[self.industry[i]][0],
                    "company_size": SIZES[self.size[i]][0],
                    "tag": TAGS[self.tag[i]][0],
                    "phone": "+34 600 000 %03d" % (i % 1000) if self.phone[i] else "",
                    "created": float(self.created[i]),
                    "cost": source[4],
                    "revenue": round(
                        DEAL_SIZE[self.size[i]] * float(rng.lognormal(0.0, 0.4)), -2
                    ),
                }
            )
        return out

    def events(self, until=None):
        """(prospect, day, type code, url) of the events before ``until``
        (default: the cutoff)."""
        until = self.cutoff if until is None else until
        rng = np.random.default_rng(self.seed + 2)
        keep = np.nonzero(self.ev_day < until)[0]
        out = []
        for i in keep.tolist():
            kind = int(self.ev_kind[i])
            p = int(self.ev_prospect[i])
            url = ""
            if kind == 0:
                hot = self.state_at[int(self.ev_day[i])][p] == EVALUATING
                pages = PAGES_HOT if hot else PAGES_COLD
                url = "https://www.example.com" + pages[rng.integers(len(pages))]
            code = KIND_CODES[kind]
            if kind == 3:
                form = FORMS[rng.integers(len(FORMS))]
                url = "https://www.example.com/form/" + form
                code = FORM_CODES.get(form, code)
            elif kind == 4 and rng.random() < 0.3:
                code = "meeting"
            out.append((p, float(self.ev_day[i]), code, url))
        return out
