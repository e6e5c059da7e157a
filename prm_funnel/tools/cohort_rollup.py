# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The funnel analysis's figures, kept per cohort.

The funnel analysis follows a cohort: the leads created in a period whose
first stay has the chosen team, salesperson, source, medium and campaign (in
the user's company; for a salesperson, the leads that are theirs or nobody's
now). Counting it from the stays read 1.5 million of them on each call at a
million leads (about 5.7 s). ``prm_cohort_rollup`` holds the same figures per
week of creation (Monday to Sunday) and combination of those values and of
the lead's salesperson now (the cohort's key), in two kinds of rows:

- *stay rows*: the sums of the cohort's stays per stage, kind of exit,
  duration rounded to the hour (the medians need the distribution) and
  source of the stay (the valued progression is per source);
- *lead rows*: the number of leads per set of stages they were in, which
  gives the leads in each stage and each lead's furthest stage in whatever
  pipeline an analysis ranks them.

A lead counts as a whole (its first stay decides its cohort, its stages its
lead row), so a change to any of its stays takes out what the lead counted
before and adds what it counts after: statement triggers on
``prm_stage_history`` compute both from the leads' stays, before and after
the statement; row triggers on ``crm_lead`` move a lead's figures when its
salesperson changes, and before it is deleted. Signed changes, folding and
the daily rebuild are the shared rollup machinery
(``prm_tracking/tools/rollup.py``). An analysis reads the whole weeks of its
period here and counts the days before and after them (at most six on each
side) from the stays, with the same SQL (:func:`contributions`): weeks rather
than months keep those days few (a month's leads took 0.6 s) for a rollup
four times the size (a few tens of thousands of rows at a million leads).
"""

from odoo.tools import SQL

from odoo.addons.prm_tracking.tools.rollup import Rollup
from odoo.addons.prm_tracking.tools.schema import (
    drop_triggers_sql,
    planned_each_time,
    statement_function,
    statement_triggers,
    triggers_sql,
)

from ..engine import KINDS
from .stay_rollup import stay_measure

TABLE = "prm_cohort_rollup"

# the cohort's key: the lead's first stay {f}, its lead now ({has_lead},
# {owner})
COHORT = (
    ("week", "date", "date_trunc('week', {f}.lead_create_date)::date"),
    ("team_id", "integer", "{f}.team_id"),
    ("user_id", "integer", "{f}.user_id"),
    ("source_id", "integer", "{f}.source_id"),
    ("medium_id", "integer", "{f}.medium_id"),
    ("campaign_id", "integer", "{f}.campaign_id"),
    ("company_id", "integer", "{f}.company_id"),
    ("has_lead", "boolean", "{has_lead}"),
    ("owner_id", "integer", "{owner}"),
)
_KINDS = ", ".join(f"'{kind}'" for kind in KINDS)
_KIND = f"CASE WHEN {{h}}.exit_kind IN ({_KINDS}) THEN {{h}}.exit_kind ELSE 'open' END"
# a stay {h} (empty on the lead rows); the durations of ended stays only
STAY = (
    ("stage_id", "integer", "{h}.stage_id"),
    ("kind", "varchar", _KIND),
    (
        "hours",
        "integer",
        f"CASE WHEN {_KIND} <> 'open' THEN round({{h}}.duration_days * 24)::int END",
    ),
    ("stay_source_id", "integer", "{h}.source_id"),
)
# (column, type, expression on a stay {h}); 0 on the lead rows, but the
# first: the stays of a stay row, the leads of a lead row
MEASURES = (
    ("n", "integer", "1"),
    ("initial", "integer", stay_measure("{h}", "leads")),
    (
        "duration_days",
        "numeric",
        f"CASE WHEN {_KIND} <> 'open' "
        "THEN COALESCE({h}.duration_days, 0)::numeric ELSE 0 END",
    ),
    ("initial_value", "numeric", stay_measure("{h}", "initial_value")),
    ("value_added", "numeric", stay_measure("{h}", "value_added")),
    ("value_lost", "numeric", stay_measure("{h}", "value_lost")),
    ("open_revenue", "numeric", stay_measure("{h}", "open_revenue")),
)

COHORTS = Rollup(
    TABLE,
    "prm_cohort_delta",
    tuple((name, kind) for name, kind, _e in COHORT + STAY)
    + (("stages", "integer[]"),),
    tuple((name, kind) for name, kind, _expr in MEASURES),
    "prm:prm_cohort_rollup",
)
COLUMNS = COHORTS.all_columns
# what the contributions read of a stay
STAY_COLUMNS = (
    "id, lead_ref, lead_id, stage_id, exit_kind, duration_days, is_initial, "
    "source_id, value, value_delta, expected_revenue, team_id, user_id, "
    "medium_id, campaign_id, company_id, lead_create_date"
)


def _select(h, exprs, **values):
    return ", ".join(
        f"{expr.format(h=h, **values)} AS {name}" for name, _kind, expr in exprs
    )


def contributions(stays, sign="", first="true", owner=None, join=False):
    """What the leads of `stays` count (one SELECT of the rollup's columns):
    `stays` selects :data:`STAY_COLUMNS` of every stay of each of those
    leads; `sign` is "" or "-"; only the leads whose first stay `f` meets
    `first` count; `owner` is (has_lead, owner_id) as SQL, or None to look
    the lead of the first stay up: one by one (by primary key), or by a
    `join` when most leads count."""
    if owner is None:
        has_lead, owner_id = "l.id IS NOT NULL", "l.user_id"
        lookup = (
            "LEFT JOIN crm_lead l ON l.id = f.lead_id"
            if join
            else "LEFT JOIN LATERAL (SELECT x.id, x.user_id FROM crm_lead x "
            "WHERE x.id = f.lead_id LIMIT 1) l ON true"
        )
    else:
        (has_lead, owner_id), lookup = owner, ""
    cohort = ", ".join(f"k.{name}" for name, _kind, _expr in COHORT)
    nothing = ", ".join(f"NULL::{kind}" for _name, kind, _expr in STAY)
    zeros = ", ".join("0" for _measure in MEASURES[1:])
    measures = ", ".join(
        f"{sign}({expr.format(h='s')}) AS {name}" for name, _kind, expr in MEASURES
    )
    return f"""
    SELECT * FROM (
        WITH s AS MATERIALIZED ({stays}),
        f AS (
            SELECT DISTINCT ON (s.lead_ref) s.* FROM s
             WHERE s.is_initial ORDER BY s.lead_ref, s.id
        ),
        k AS (
            SELECT f.lead_ref, {_select("f", COHORT, f="f", has_lead=has_lead,
                                        owner=owner_id)}
              FROM f {lookup} WHERE {first}
        )
        SELECT {cohort}, {_select("s", STAY)}, NULL::integer[] AS stages,
               {measures}
          FROM s JOIN k ON k.lead_ref = s.lead_ref
         UNION ALL
        SELECT {cohort}, {nothing}, g.stages, {sign}1, {zeros}
          FROM k JOIN (
              SELECT lead_ref, array_agg(DISTINCT stage_id ORDER BY stage_id)
                     AS stages
                FROM s GROUP BY lead_ref
          ) g ON g.lead_ref = k.lead_ref
    ) AS c
    """  # fmt: skip


def stays_of(leads, but=None):
    """The stays of the leads `leads` selects (lead_ref), those in the table
    `but` left out (an anti-join: NOT IN a big subquery, unhashable in
    ``work_mem``, would compare every pair).

    >>> stays_of("SELECT 7", "n").split(" WHERE ", 1)[1]
    'h.lead_ref = ANY(ARRAY(SELECT 7)) AND NOT EXISTS (SELECT 1 FROM n b \
WHERE b.id = h.id)'
    """
    rest = f" AND NOT EXISTS (SELECT 1 FROM {but} b WHERE b.id = h.id)" if but else ""
    # looked up by the index on lead_ref (a semi-join may scan every stay)
    return (
        f"SELECT {STAY_COLUMNS} FROM prm_stage_history h "
        f"WHERE h.lead_ref = ANY(ARRAY({leads})){rest}"
    )


def _changes(selects):
    return COHORTS.insert_changes(f"({' UNION ALL '.join(selects)}) c ({COLUMNS})")


def _stay_changes(old, new):
    """The leads of the stays changed by a statement: what they counted
    before (their stays now, less `new`, plus `old`) out, what they count
    now in. `old` and `new` are transition tables or None; of an UPDATE,
    only the leads of stays that changed in a column counted here (the daily
    revaluation rewrites values, a win or a loss every stay's "won now")."""
    if old and new:
        columns = STAY_COLUMNS.replace("id, ", "", 1)
        touched = (
            f"SELECT unnest(ARRAY[o.lead_ref, n.lead_ref]) FROM {old} o "
            f"JOIN {new} n ON n.id = o.id WHERE ROW(o.{columns.replace(', ', ', o.')})"
            f" IS DISTINCT FROM ROW(n.{columns.replace(', ', ', n.')})"
        )
        leads = f"SELECT DISTINCT lead_ref FROM ({touched}) t (lead_ref)"
        previous = f"SELECT {STAY_COLUMNS} FROM {old} WHERE lead_ref IN ({leads})"
    else:
        touched = None
        leads = f"SELECT lead_ref FROM {old or new}"
        previous = old and f"SELECT {STAY_COLUMNS} FROM {old}"
    before = stays_of(leads, new)
    if previous:
        before += f" UNION ALL {previous}"
    statement = _changes([contributions(before, "-"), contributions(stays_of(leads))])
    # an update of columns counted nowhere here (a lead's salesperson now on
    # its stays) is not planned at all
    return planned_each_time(statement, only_if=touched)


STAY_FUNCTION = statement_function(
    "prm_cohort_stays_changed",
    _stay_changes(None, "prm_new_stays"),
    _stay_changes("prm_old_stays", None),
    _stay_changes("prm_old_stays", "prm_new_stays"),
)


def _lead_move(new_owner):
    """The leads whose first stay is on the lead OLD, moved from its owner
    to `new_owner` (has_lead, owner_id)."""
    first = "f.lead_id = OLD.id"
    stays = stays_of(
        "SELECT x.lead_ref FROM prm_stage_history x "
        "WHERE x.lead_id = OLD.id AND x.is_initial"
    )
    return _changes(
        [
            contributions(stays, "-", first, ("true", "OLD.user_id")),
            contributions(stays, "", first, new_owner),
        ]
    )


# a lead changing salesperson (after the update) or deleted (before: its
# stays then go, and their trigger no longer finds it)
LEAD_FUNCTION = f"""
CREATE OR REPLACE FUNCTION prm_cohort_lead_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        {_lead_move(("false", "NULL::integer"))}
        RETURN OLD;
    END IF;
    {_lead_move(("true", "NEW.user_id"))}
    RETURN NULL;
END $$;
"""

TRIGGERS = statement_triggers(
    "prm_cohort_stays", "prm_stage_history", "prm_cohort_stays_changed",
    "prm_old_stays", "prm_new_stays",
) + (
    ("prm_cohort_lead_owner", "crm_lead", "AFTER UPDATE OF user_id",
     "FOR EACH ROW WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id) "
     "EXECUTE FUNCTION prm_cohort_lead_changed()"),
    ("prm_cohort_lead_delete", "crm_lead", "BEFORE DELETE",
     "FOR EACH ROW EXECUTE FUNCTION prm_cohort_lead_changed()"),
)  # fmt: skip

# the days around an analysis's whole weeks: their leads found by creation
FIRST_STAYS_INDEX = "prm_stage_history_first_created_idx"

DROP = f"""
{drop_triggers_sql(TRIGGERS)}
DROP FUNCTION IF EXISTS prm_cohort_stays_changed();
DROP FUNCTION IF EXISTS prm_cohort_lead_changed();
DROP INDEX IF EXISTS {FIRST_STAYS_INDEX};
{COHORTS.drop_sql()}
"""


def create_sql():
    """Tables, index, functions and triggers (idempotent)."""
    return SQL(
        f"""{COHORTS.create_sql()}
        CREATE INDEX IF NOT EXISTS {FIRST_STAYS_INDEX}
            ON prm_stage_history (lead_create_date) WHERE is_initial;
        {STAY_FUNCTION}
        {LEAD_FUNCTION}
        {triggers_sql(TRIGGERS)}"""
    )


# the sums as the rollup must hold them, from every lead's stays
LIVE = COHORTS.summed(
    contributions(f"SELECT {STAY_COLUMNS} FROM prm_stage_history", join=True)
)
REBUILD = COHORTS.rebuild(LIVE)
FOLD = COHORTS.fold


def figures(ranges, weeks, where):
    """The analysis's figures (the rollup's stay and lead dimensions with
    the measures summed) of the leads created in the half-open `ranges`
    (pairs of SQL timestamps: counted from the stays) and in the whole
    `weeks` (a pair of SQL dates, start included, end excluded: read from
    the rollup), whose cohort (rollup columns, alias ``r``) meets `where`."""
    parts = []
    if weeks:
        parts.append(
            SQL(
                f"SELECT {COLUMNS} FROM ({COHORTS.report}) r "
                "WHERE r.week >= %s AND r.week < %s",
                *weeks,
            )
        )
    if ranges:
        created = SQL(" OR ").join(
            SQL("(x.lead_create_date >= %s AND x.lead_create_date < %s)", *pair)
            for pair in ranges
        )
        within = SQL(" OR ").join(
            SQL("(f.lead_create_date >= %s AND f.lead_create_date < %s)", *pair)
            for pair in ranges
        )
        leads = SQL(
            "SELECT x.lead_ref FROM prm_stage_history x WHERE x.is_initial AND (%s)",
            created,
        )
        parts.append(
            SQL(
                contributions(stays_of("%s"), first="%s"),
                leads,
                within,
            )
        )
    stay_dims = ", ".join(name for name, _kind, _expr in STAY)
    return SQL(
        f"SELECT {stay_dims}, stages, {COHORTS.typed_sums('r.')} FROM (%s) r "
        "WHERE %s "
        f"GROUP BY {stay_dims}, stages HAVING sum(r.n) <> 0",
        SQL(" UNION ALL ").join(parts),
        where,
    )
