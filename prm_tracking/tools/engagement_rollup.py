# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The Engagement report's figures: events counted per day and dimension.

Counting ten million events on each opening of a pivot takes seconds, so the
counts live in a table, ``prm_engagement_rollup``, one row per day and
combination of the dimensions below. Every change to the events is captured,
in the same transaction, as signed counts in ``prm_engagement_delta``:

- statement triggers on ``prm_event`` (one grouped INSERT per statement: a
  batch of ingested events adds one row per combination it touches, a batch
  of today's events on a few salespeople's leads a few rows);
- row triggers on ``crm_lead`` when a lead changes owner or is deleted (the
  owner is a dimension: the salespeople's record rule filters on it).

The report reads the rollup plus the pending deltas, so new events count at
once; a job folds the deltas into the rollup every few minutes, and a daily
rebuild counts everything again. Both run under one advisory lock and read
one snapshot: a delta is either counted by them and deleted, or left for the
next run.

What the triggers cannot see, and the daily rebuild mends: events loaded with
the triggers off; and one race. A transaction that inserts, changes or
deletes events of a lead while another one reassigns that lead (each reads
the lead as it was before the other) files those events under the previous
salesperson: until the rebuild, that salesperson's counts include them (in
the delete case, one count is short and another over).
"""

from odoo.tools import SQL

from .rollup import Rollup
from .schema import (
    drop_triggers_sql,
    statement_function,
    statement_triggers,
    triggers_sql,
)

ROLLUP = "prm_engagement_rollup"
DELTA = "prm_engagement_delta"
LOCK = "prm:prm_engagement_rollup"

# (column, type, expression on an event row {e}); the owner and lead flag
# come from the lead, {owner} and {has_lead}
DIMS = (
    ("date", "date NOT NULL", "({e}.occurred_at)::date"),
    ("event_type_id", "integer NOT NULL", "{e}.event_type_id"),
    ("channel", "varchar", "{e}.channel"),
    ("is_bot", "boolean NOT NULL", "COALESCE({e}.is_bot, false)"),
    ("company_id", "integer", "{e}.company_id"),
    ("site_id", "integer", "{e}.site_id"),
    ("origin", "varchar", "{e}.origin"),
    ("source_id", "integer", "{e}.source_id"),
    ("medium_id", "integer", "{e}.medium_id"),
    ("campaign_id", "integer", "{e}.campaign_id"),
    ("has_lead", "boolean NOT NULL", "{has_lead}"),
    ("owner_id", "integer", "{owner}"),
)
ENGAGEMENT = Rollup(
    ROLLUP,
    DELTA,
    tuple((name, kind) for name, kind, _expr in DIMS),
    (("events", "integer"),),
    LOCK,
)
GROUP = ENGAGEMENT.group


def dims(e="e", owner="l.user_id", has_lead=None):
    """The select list of an event row's dimensions.

    >>> dims("o", "x.user_id").split(", ")[-2:]
    ['o.lead_id IS NOT NULL', 'x.user_id']
    """
    has_lead = has_lead or f"{e}.lead_id IS NOT NULL"
    return ", ".join(
        expr.format(e=e, owner=owner, has_lead=has_lead) for _n, _t, expr in DIMS
    )


def live_counts_sql():
    """The counts as the rollup must hold them, from the events themselves."""
    return (
        f"SELECT {dims()}, count(*) FROM prm_event e "
        f"LEFT JOIN crm_lead l ON l.id = e.lead_id GROUP BY {GROUP}"
    )


_insert_delta = ENGAGEMENT.insert_delta


def _move(rows, old, new, where):
    """The deltas of `rows` (FROM clause) moving from the dimensions `old` to
    `new`: -1 and +1 for each, summed, the combinations that cancel out left
    out."""
    return ENGAGEMENT.insert_changes(
        f"{rows} CROSS JOIN LATERAL (VALUES ({old}, -1), ({new}, 1)) "
        f"AS d ({ENGAGEMENT.all_columns}) WHERE {where}",
        alias="d.",
    )


def _lead(alias, key):
    """The lead of each event row, looked up by primary key (LIMIT 1 keeps
    PostgreSQL from turning the lookup into a join that hashes the whole lead
    table: 0.8 s more for a statement of 50,000 events on a million leads,
    by hand).

    >>> _lead("l", "e.lead_id")
    'LEFT JOIN LATERAL (SELECT x.id, x.user_id FROM crm_lead x \
WHERE x.id = e.lead_id LIMIT 1) l ON true'
    """
    return (
        f"LEFT JOIN LATERAL (SELECT x.id, x.user_id FROM crm_lead x "
        f"WHERE x.id = {key} LIMIT 1) {alias} ON true"
    )


# events inserted, deleted or changed: one grouped INSERT per statement. The
# events of a lead being deleted (its ON DELETE SET NULL) are left to the
# lead's own trigger, which ran before and saw its owner. The old and new
# rows of an UPDATE are matched by hashing (hash joins were once switched off
# for the whole function, for the lead lookups: the sweep that moves 21,666
# anonymous events onto their person then compared every old row with every
# new one, 21 s of one queue job per ingestion round).
EVENT_FUNCTION = statement_function(
    "prm_engagement_event_changed",
    _insert_delta(
        f"SELECT {dims()}, count(*) FROM prm_new_events e "
        f"{_lead('l', 'e.lead_id')} GROUP BY {GROUP}"
    ),
    _insert_delta(
        f"SELECT {dims()}, -count(*) FROM prm_old_events e "
        f"{_lead('l', 'e.lead_id')} GROUP BY {GROUP}"
    ),
    _move(
        "prm_old_events o JOIN prm_new_events w ON w.id = o.id "
        f"{_lead('lo', 'o.lead_id')} {_lead('lw', 'w.lead_id')}",
        dims("o", "lo.user_id"),
        dims("w", "lw.user_id"),
        "o.lead_id IS NULL OR lo.id IS NOT NULL",
    ),
)

# a lead changing owner (after the update) or deleted (before: its events
# then lose their lead)
LEAD_FUNCTION = f"""
CREATE OR REPLACE FUNCTION prm_engagement_lead_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        {_move(
            "prm_event e",
            dims(owner="OLD.user_id"),
            dims(owner="NULL::integer", has_lead="false"),
            "e.lead_id = OLD.id",
        )}
        RETURN OLD;
    END IF;
    {_move(
        "prm_event e",
        dims(owner="OLD.user_id"),
        dims(owner="NEW.user_id"),
        "e.lead_id = OLD.id",
    )}
    RETURN NULL;
END $$;
"""

TRIGGERS = statement_triggers(
    "prm_engagement_event", "prm_event", "prm_engagement_event_changed",
    "prm_old_events", "prm_new_events",
) + (
    ("prm_engagement_lead_owner", "crm_lead", "AFTER UPDATE OF user_id",
     "FOR EACH ROW WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id) "
     "EXECUTE FUNCTION prm_engagement_lead_changed()"),
    ("prm_engagement_lead_delete", "crm_lead", "BEFORE DELETE",
     "FOR EACH ROW EXECUTE FUNCTION prm_engagement_lead_changed()"),
)  # fmt: skip

DROP = f"""
{drop_triggers_sql(TRIGGERS)}
DROP FUNCTION IF EXISTS prm_engagement_event_changed();
DROP FUNCTION IF EXISTS prm_engagement_lead_changed();
{ENGAGEMENT.drop_sql()}
"""


def create_sql():
    """Tables, functions and triggers (idempotent)."""
    return SQL(
        f"""
        {ENGAGEMENT.create_sql()}
        CREATE INDEX IF NOT EXISTS {ROLLUP}_owner_idx ON {ROLLUP} (owner_id);
        {EVENT_FUNCTION}
        {LEAD_FUNCTION}
        {triggers_sql(TRIGGERS)}
        """
    )


FOLD = ENGAGEMENT.fold
# everything counted again from the events
REBUILD = ENGAGEMENT.rebuild(live_counts_sql())
# what the report reads: each count plus its changes not folded yet, so that
# a row is one combination of the dimensions, as the list shows it
REPORT = ENGAGEMENT.report
