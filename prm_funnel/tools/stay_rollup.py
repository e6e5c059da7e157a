# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The Funnel and Valued Progression pivots' sums, kept per combination.

Both reports have one row per stay of a lead in a stage; at a million leads
their pivots summed three million stays on each call (about 0.8 s a call,
two calls to open one). ``prm_stay_rollup`` holds the same sums per
combination of the dimensions below (a few thousand rows), kept by statement
triggers on ``prm_stage_history`` through the shared rollup machinery
(``prm_tracking/tools/rollup.py``: signed deltas, a fold job, a daily
rebuild). A report answers a grouping from it when every field the call
touches (its domain, the record rules, the groupings, the aggregates) is
kept there (see ``models/prm_stays_report_mixin.py``); any other call reads
the stays.

Each measure is the sum, per combination, of a per-stay expression; the
reports' per-stay views select the same expressions (:func:`stay_measures`),
so both paths count alike by construction.
"""

from odoo.tools import SQL

from odoo.addons.prm_tracking.tools.rollup import Rollup
from odoo.addons.prm_tracking.tools.schema import (
    drop_triggers_sql,
    statement_function,
    statement_triggers,
    triggers_sql,
)

from .lead_facts import STAY_VALUE_ADDED

TABLE = "prm_stay_rollup"

# (column, type, expression on a stay {h})
DIMS = (
    ("stage_id", "integer", "{h}.stage_id"),
    ("previous_stage_id", "integer", "{h}.previous_stage_id"),
    ("exit_kind", "varchar", "{h}.exit_kind"),
    ("lead_won", "boolean", "COALESCE({h}.lead_won, false)"),
    ("is_initial", "boolean", "COALESCE({h}.is_initial, false)"),
    ("user_id", "integer", "{h}.user_id"),
    # the salesperson record rules read them (the lead's salesperson now)
    ("lead_user_id", "integer", "{h}.lead_user_id"),
    ("lead_unassigned", "boolean", "{h}.lead_unassigned"),
    ("team_id", "integer", "{h}.team_id"),
    ("source_id", "integer", "{h}.source_id"),
    ("medium_id", "integer", "{h}.medium_id"),
    ("campaign_id", "integer", "{h}.campaign_id"),
    ("company_id", "integer", "{h}.company_id"),
)

# (column, type, expression on a stay {h}); the first one counts the stays.
# The rates are 0/100 flags: their mean over any grouping is the share
LOST = "{h}.exit_kind IN ('lost', 'merged')"
MEASURES = (
    ("stays", "integer", "1"),
    ("advanced", "integer", "({h}.exit_kind = 'advanced')::int"),
    ("regressed", "integer", "({h}.exit_kind = 'regressed')::int"),
    ("won", "integer", "({h}.exit_kind = 'won')::int"),
    ("lost", "integer", "({h}.exit_kind = 'lost')::int"),
    ("still_open", "integer", "({h}.exit_kind = 'open')::int"),
    ("duration_days", "numeric", "COALESCE({h}.duration_days, 0)::numeric"),
    ("duration_n", "integer", "({h}.duration_days IS NOT NULL)::int"),
    (
        "advance_rate",
        "numeric",
        "CASE WHEN {h}.exit_kind IN ('advanced', 'won') THEN 100.0 ELSE 0.0 END",
    ),
    ("won_rate", "numeric", "CASE WHEN {h}.lead_won THEN 100.0 ELSE 0.0 END"),
    (
        "drop_rate",
        "numeric",
        "CASE WHEN {h}.exit_kind = 'lost' THEN 100.0 ELSE 0.0 END",
    ),
    ("leads", "integer", "COALESCE({h}.is_initial, false)::int"),
    (
        "initial_value",
        "numeric",
        "CASE WHEN {h}.is_initial THEN COALESCE({h}.value, 0) ELSE 0 END",
    ),
    ("value_added", "numeric", STAY_VALUE_ADDED),
    (
        "value_lost",
        "numeric",
        "CASE WHEN NOT {h}.is_initial AND {h}.value_delta < 0 "
        "THEN -{h}.value_delta ELSE 0 END "
        f"+ CASE WHEN {LOST} THEN COALESCE({{h}}.value, 0) ELSE 0 END",
    ),
    (
        "net_value",
        "numeric",
        "COALESCE({h}.value_delta, 0) "
        f"- CASE WHEN {LOST} THEN COALESCE({{h}}.value, 0) ELSE 0 END",
    ),
    (
        "open_revenue",
        "numeric",
        "CASE WHEN {h}.exit_kind = 'open' "
        "THEN COALESCE({h}.expected_revenue, 0) ELSE 0 END",
    ),
)
# the measures whose mean is not over the stays: (measure, its count)
MEAN_OVER = {"duration_days": "duration_n"}

STAYS = Rollup(
    TABLE,
    "prm_stay_delta",
    tuple((name, kind) for name, kind, _expr in DIMS),
    tuple((name, kind) for name, kind, _expr in MEASURES),
    "prm:prm_stay_rollup",
)


def stay_measure(h, name):
    """The per-stay expression of the measure `name` on a stay `h`.

    >>> stay_measure("x", "lost")
    "(x.exit_kind = 'lost')::int"
    """
    return next(expr for n, _kind, expr in MEASURES if n == name).format(h=h)


def stay_measures(h, fields):
    """The per-stay expressions of the measures `fields` ({column: measure}),
    as ``expr AS column``.

    >>> stay_measures("x", {"entered": "stays", "lost": "lost"})
    "1 AS entered, (x.exit_kind = 'lost')::int AS lost"
    """
    return ", ".join(
        f"{stay_measure(h, measure)} AS {field}" for field, measure in fields.items()
    )


def _dims(h):
    return ", ".join(expr.format(h=h) for _name, _kind, expr in DIMS)


def _changes(table, sign):
    """The rows of `table` (stays) as dimensions and signed measures."""
    measures = ", ".join(f"{sign}({expr.format(h='h')})" for _n, _k, expr in MEASURES)
    return f"SELECT {_dims('h')}, {measures} FROM {table} h"


def live_sql():
    """The sums as the rollup must hold them, from the stays themselves."""
    sums = ", ".join(f"sum({expr.format(h='h')})" for _n, _k, expr in MEASURES)
    return (
        f"SELECT {_dims('h')}, {sums} FROM prm_stage_history h GROUP BY {STAYS.group}"
    )


def _insert(select):
    return STAYS.insert_changes(f"({select}) c ({STAYS.all_columns})")


FUNCTION = statement_function(
    "prm_stay_rollup_changed",
    _insert(_changes("prm_new_stays", "")),
    _insert(_changes("prm_old_stays", "-")),
    _insert(
        f"{_changes('prm_old_stays', '-')} UNION ALL {_changes('prm_new_stays', '')}"
    ),
)

TRIGGERS = statement_triggers(
    "prm_stay_rollup",
    "prm_stage_history",
    "prm_stay_rollup_changed",
    "prm_old_stays",
    "prm_new_stays",
)

DROP = f"""
{drop_triggers_sql(TRIGGERS)}
DROP FUNCTION IF EXISTS prm_stay_rollup_changed();
{STAYS.drop_sql()}
"""


def create_sql():
    """Tables, function and triggers (idempotent)."""
    return SQL(f"{STAYS.create_sql()}\n{FUNCTION}\n{triggers_sql(TRIGGERS)}")


FOLD = STAYS.fold
REBUILD = STAYS.rebuild(live_sql())
REPORT = STAYS.report
