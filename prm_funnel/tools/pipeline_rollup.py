# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The funnel analysis's velocity figures, kept per combination of leads.

The velocity figures of the funnel analysis are the leads closed in its
period (won, lost, won revenue, cycle length) and the pipeline open now
(opportunities, their expected revenue, their open stays' value), each for
the leads' team, salesperson, source, medium and campaign now. Summing them
from the leads read the whole lead table and looked up the open stay of
every open opportunity: 1.3-1.5 s at a million leads. ``prm_pipeline_rollup``
holds the same sums per combination of a lead's values below (the week it
was closed in among them), kept by triggers through the shared rollup
machinery (``prm_tracking/tools/rollup.py``):

- on ``crm_lead``: a statement trigger adds the leads inserted; a row trigger
  moves a lead when one of the values it is counted by changes (the
  probability only when it becomes or stops being 0 or 100: recomputing
  probabilities does not fire it otherwise); a row trigger takes a lead out
  before it is deleted (its stays go with it);
- on ``prm_stage_history``: a statement trigger adds the change of value of
  the open stays each statement inserts, changes or deletes, to their lead.

An analysis reads the whole weeks of its period here and counts the days
around them from the leads closed then (an index on the closing date).
"""

from odoo.tools import SQL

from odoo.addons.prm_scoring.tools.decision_facts import WON
from odoo.addons.prm_tracking.tools.rollup import Rollup
from odoo.addons.prm_tracking.tools.schema import (
    drop_triggers_sql,
    planned_each_time,
    statement_function,
    statement_triggers,
    triggers_sql,
)

TABLE = "prm_pipeline_rollup"

LOST = "NOT {l}.active AND {l}.probability = 0"
# (column, type, expression on a lead {l})
DIMS = (
    ("company_id", "integer", "{l}.company_id"),
    ("team_id", "integer", "{l}.team_id"),
    ("user_id", "integer", "{l}.user_id"),
    ("source_id", "integer", "{l}.source_id"),
    ("medium_id", "integer", "{l}.medium_id"),
    ("campaign_id", "integer", "{l}.campaign_id"),
    ("stage_id", "integer", "{l}.stage_id"),
    ("is_open", "boolean", "{l}.active AND {l}.type = 'opportunity'"),
    (
        "closed",
        "varchar",
        f"CASE WHEN {{l}}.date_closed IS NULL THEN NULL WHEN {WON} THEN 'won' "
        f"WHEN {LOST} THEN 'lost' END",
    ),
    ("closed_week", "date", "date_trunc('week', {l}.date_closed)::date"),
)
# (column, type, expression on a lead {l} whose open stays are worth {value})
MEASURES = (
    ("leads", "integer", "1"),
    ("revenue", "numeric", "COALESCE({l}.expected_revenue, 0)"),
    (
        "cycle_days",
        "numeric",
        f"CASE WHEN {WON} THEN COALESCE(EXTRACT(EPOCH FROM ({{l}}.date_closed "
        "- {l}.create_date)) / 86400.0, 0) ELSE 0 END",
    ),
    ("value", "numeric", "{value}"),
)
# what a lead is counted by: a change to another column does not move it
COLUMNS = (
    "company_id", "team_id", "user_id", "source_id", "medium_id", "campaign_id",
    "stage_id", "active", "type", "date_closed", "expected_revenue",
    "create_date", "probability",
)  # fmt: skip
CHANGED = " OR ".join(
    f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in COLUMNS[:-1]
) + "".join(
    f" OR (OLD.probability = {p}) IS DISTINCT FROM (NEW.probability = {p})"
    for p in (0, 100)
)

PIPELINE = Rollup(
    TABLE,
    "prm_pipeline_delta",
    tuple((name, kind) for name, kind, _expr in DIMS),
    tuple((name, kind) for name, kind, _expr in MEASURES),
    "prm:prm_pipeline_rollup",
)


def lead_dims(l):  # noqa: E741
    """The select list of the dimensions of the lead `l`."""
    return ", ".join(expr.format(l=l) for _name, _kind, expr in DIMS)


def lead_row(l, value, sign=""):  # noqa: E741
    """The select list of what the lead `l` counts, its open stays worth
    `value`, signed.

    >>> row = lead_row("OLD", "v", "-")
    >>> row.startswith("OLD.company_id, OLD.team_id, "), row.endswith(", -(v)")
    (True, True)
    """
    dims = lead_dims(l)
    measures = ", ".join(
        f"{sign}({expr.format(l=l, value=value)})" for _name, _kind, expr in MEASURES
    )
    return f"{dims}, {measures}"


def open_value(lead_id):
    """The value of the open stays of the lead `lead_id` (SQL)."""
    return (
        "(SELECT COALESCE(sum(h.value), 0) FROM prm_stage_history h "
        f"WHERE h.lead_id = {lead_id} AND h.exit_kind = 'open')"
    )


def _changes(select):
    return PIPELINE.insert_changes(f"({select}) c ({PIPELINE.all_columns})")


LEAD_FUNCTION = f"""
CREATE OR REPLACE FUNCTION prm_pipeline_lead_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_changes(f"SELECT {lead_row('l', open_value('l.id'))} FROM prm_new_leads l")}
        RETURN NULL;
    ELSIF TG_OP = 'DELETE' THEN
        {_changes(f"SELECT {lead_row('OLD', open_value('OLD.id'), '-')}")}
        RETURN OLD;
    END IF;
    {_changes(
        f"SELECT {lead_row('OLD', open_value('OLD.id'), '-')} "
        f"UNION ALL SELECT {lead_row('NEW', open_value('NEW.id'))}"
    )}
    RETURN NULL;
END $$;
"""


def _stay_values(table, sign):
    return f"SELECT lead_id, {sign}value AS value FROM {table} WHERE exit_kind = 'open'"


def _stay_changes(old, new):
    """The open stays' change of value, per lead whose value changed (looked
    up by primary key: a lead deleted with its stays was taken out
    before)."""
    values = " UNION ALL ".join(
        _stay_values(table, sign) for table, sign in ((old, "-"), (new, "")) if table
    )
    dims = lead_dims("l")
    zeros = ", ".join("0" for _m in MEASURES[:-1])
    statement = _changes(
        f"SELECT {dims}, {zeros}, v.value FROM ("
        f"SELECT lead_id, sum(value) AS value FROM ({values}) d "
        "WHERE lead_id IS NOT NULL GROUP BY lead_id HAVING sum(value) <> 0) v "
        "CROSS JOIN LATERAL (SELECT * FROM crm_lead x WHERE x.id = v.lead_id "
        "LIMIT 1) l"
    )
    return planned_each_time(statement)


STAY_FUNCTION = statement_function(
    "prm_pipeline_stays_changed",
    _stay_changes(None, "prm_new_stays"),
    _stay_changes("prm_old_stays", None),
    _stay_changes("prm_old_stays", "prm_new_stays"),
)

TRIGGERS = (
    ("prm_pipeline_lead_insert", "crm_lead", "AFTER INSERT",
     "REFERENCING NEW TABLE AS prm_new_leads "
     "FOR EACH STATEMENT EXECUTE FUNCTION prm_pipeline_lead_changed()"),
    ("prm_pipeline_lead_update", "crm_lead",
     f"AFTER UPDATE OF {', '.join(COLUMNS)}",
     f"FOR EACH ROW WHEN ({CHANGED}) "
     "EXECUTE FUNCTION prm_pipeline_lead_changed()"),
    ("prm_pipeline_lead_delete", "crm_lead", "BEFORE DELETE",
     "FOR EACH ROW EXECUTE FUNCTION prm_pipeline_lead_changed()"),
) + statement_triggers(
    "prm_pipeline_stays", "prm_stage_history", "prm_pipeline_stays_changed",
    "prm_old_stays", "prm_new_stays",
)  # fmt: skip

# the days around an analysis's whole weeks: their closed leads
CLOSED_INDEX = "prm_crm_lead_date_closed_idx"

DROP = f"""
{drop_triggers_sql(TRIGGERS)}
DROP FUNCTION IF EXISTS prm_pipeline_lead_changed();
DROP FUNCTION IF EXISTS prm_pipeline_stays_changed();
DROP INDEX IF EXISTS {CLOSED_INDEX};
{PIPELINE.drop_sql()}
"""


def create_sql():
    """Tables, index, functions and triggers (idempotent)."""
    return SQL(
        f"""{PIPELINE.create_sql()}
        CREATE INDEX IF NOT EXISTS {CLOSED_INDEX}
            ON crm_lead (date_closed) WHERE date_closed IS NOT NULL;
        {LEAD_FUNCTION}
        {STAY_FUNCTION}
        {triggers_sql(TRIGGERS)}"""
    )


# the sums as the rollup must hold them, from every lead
LIVE = (
    f"SELECT {lead_row('l', 'COALESCE(v.value, 0)')} FROM crm_lead l "
    "LEFT JOIN (SELECT lead_id, sum(value) AS value FROM prm_stage_history "
    "WHERE exit_kind = 'open' GROUP BY lead_id) v ON v.lead_id = l.id"
)
SUMMED = PIPELINE.summed(LIVE)
REBUILD = PIPELINE.rebuild(SUMMED)


def figures(ranges, weeks, where):
    """The velocity sums of the leads that meet `where` (on the rollup's
    columns, alias ``r``): per kind of close (``closed``: won, lost), those
    closed in the half-open `ranges` (pairs of SQL timestamps: counted from
    the leads) and the whole `weeks` (pair of SQL dates: from the rollup);
    the open pipeline (``closed`` 'open'), opportunities in a stage not won
    now."""
    measures = ", ".join(name for name, _kind, _expr in MEASURES)
    parts = [
        SQL(
            f"SELECT 'open', {measures} FROM ({PIPELINE.report}) r "
            "JOIN crm_stage s ON s.id = r.stage_id "
            "WHERE r.is_open AND NOT COALESCE(s.is_won, false) AND %s",
            where,
        )
    ]
    if weeks:
        parts.append(
            SQL(
                f"SELECT closed, {measures} FROM ({PIPELINE.report}) r "
                "WHERE r.closed IS NOT NULL AND r.closed_week >= %s "
                "AND r.closed_week < %s AND %s",
                *weeks,
                where,
            )
        )
    if ranges:
        closed = SQL(" OR ").join(
            SQL("(l.date_closed >= %s AND l.date_closed < %s)", *pair)
            for pair in ranges
        )
        parts.append(
            SQL(
                f"SELECT closed, {measures} FROM (SELECT {lead_row('l', '0')} "
                f"FROM crm_lead l WHERE %s) r ({PIPELINE.all_columns}) "
                "WHERE r.closed IS NOT NULL AND %s",
                closed,
                where,
            )
        )
    return SQL(
        f"SELECT kind, {PIPELINE.typed_sums()} FROM (%s) c (kind, {measures}) "
        "GROUP BY kind",
        SQL(" UNION ALL ").join(parts),
    )
