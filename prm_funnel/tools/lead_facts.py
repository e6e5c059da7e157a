# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Facts about each lead kept beside its stage history for the reports.

On a million leads, the Funnel report joined every stay to its lead on each
call (for "won now"), and the Source Quality report summed the whole stage
history (for "value added"), and a salesperson's Funnel and Valued
Progression pivots summed their stays (the rule reads the lead's salesperson,
which the pivots' sums did not keep). These facts are now stored:

- ``prm_stage_history.lead_won``: the stay's lead is won now (active, at
  100 %);
- ``prm_stage_history.lead_user_id`` and ``lead_unassigned``: the stay's
  lead's salesperson now, or that it has none (the salesperson record rules
  of the stay reports read them, so that the pivots' sums, kept per
  salesperson now, answer a salesperson's calls too);
- ``prm_lead_value_added``: per lead, the rises of value of its stage moves,
  with the lead's columns the Source Quality analysis groups and filters by
  (:data:`KEYS`): the analysis sums the value added from this table alone,
  without joining it to the leads (hashing a million value rows took a third
  of its time).

Triggers keep them in the transaction that changes a lead or its stays:

- a row trigger on the stays, before INSERT or a change of lead (a merge),
  sets the stay's from the lead;
- a row trigger on ``crm_lead``, when a lead becomes won or stops being won
  or changes salesperson, sets them on its stays, and when one of its
  :data:`KEYS` changes, on its value row;
- statement triggers on the stays (INSERT, DELETE, UPDATE) compute the value
  added again, from all their stays, of the leads whose stays came, went or
  changed lead, value change or first-stay flag.

:func:`sync_sql` recomputes both from scratch and writes only what differs;
installing or updating the module and the daily refresh of the history run
it (a safety net for data loaded with the triggers off).
"""

from odoo.tools import SQL

from odoo.addons.prm_scoring.tools.decision_facts import WON
from odoo.addons.prm_tracking.tools.schema import (
    drop_triggers_sql,
    statement_triggers,
    triggers_sql,
)

VALUE_TABLE = "prm_lead_value_added"
# a stay {h}'s share of its lead's value added: rises of value, the first
# stay (the initial value) left out; the Valued Progression report sums it too
STAY_VALUE_ADDED = (
    "CASE WHEN NOT {h}.is_initial AND {h}.value_delta > 0 "
    "THEN {h}.value_delta ELSE 0 END"
)


# the lead's columns kept on its value row (the Source Quality analysis's
# grouping and filters): (name on the value row, as the report names it;
# crm_lead's column)
KEYS = (
    ("company_id", "company_id"), ("create_date", "create_date"),
    ("user_id", "user_id"), ("team_id", "team_id"), ("source_id", "source_id"),
    ("medium_id", "medium_id"), ("campaign_id", "campaign_id"),
    ("site_id", "prm_first_site_id"),
    ("referrer_domain", "prm_first_referrer_domain"),
)  # fmt: skip
KEY_NAMES = ", ".join(name for name, _column in KEYS)


def _keys(lead):
    """The lead `lead`'s :data:`KEYS` columns, as a list.

    >>> _keys("l")[:36]
    'l.company_id, l.create_date, l.user_'
    """
    return ", ".join(f"{lead}.{column}" for _name, column in KEYS)


def _keys_as(lead):
    """The lead `lead`'s :data:`KEYS` columns under their value row names."""
    return ", ".join(f"{lead}.{column} AS {name}" for name, column in KEYS)


def _key_values(row):
    """The :data:`KEYS` of a value row `row`, as a list."""
    return ", ".join(f"{row}.{name}" for name, _column in KEYS)


def _value_upsert(leads):
    """Store the value added of the leads selected by `leads` (a FROM item
    with a ``lead_id`` column), computed from all their stays, with the
    leads' keys (those of a deleted lead: none, and its value is 0).

    The row is written even when its value is unchanged: each lead's row is
    the point where transactions changing its facts meet (see FUNCTIONS),
    and rows are written in lead order, so two statements never wait on each
    other's rows crosswise."""
    return f"""
    INSERT INTO {VALUE_TABLE} AS v (lead_id, value_added, {KEY_NAMES})
    SELECT t.lead_id, COALESCE(sum({STAY_VALUE_ADDED.format(h="h")}), 0),
           {_keys("l")}
      FROM (SELECT DISTINCT lead_id FROM {leads} WHERE lead_id IS NOT NULL) t
      LEFT JOIN crm_lead l ON l.id = t.lead_id
      LEFT JOIN prm_stage_history h ON h.lead_id = t.lead_id
  GROUP BY t.lead_id, l.id
  ORDER BY t.lead_id
        ON CONFLICT (lead_id) DO UPDATE
       SET (value_added, {KEY_NAMES}) = (EXCLUDED.value_added,
            {_key_values("EXCLUDED")});
    """


# A stay inserted by a transaction that does not write its lead (the
# backfill job) while another one wins, reopens or reassigns that lead: each
# reads the other's side as it was (REPEATABLE READ), so the new stay would
# keep the old facts. Both write the lead's value row, so the one that
# commits second fails to serialize and Odoo runs it again.

# the facts of a lead {l} its stays carry: (column, expression). "No
# salesperson" is a fact of its own, so that a stay whose facts were never
# set (no lead, or loaded with the triggers off) is nobody's, not everybody's
STAY_FACTS = (
    ("lead_won", WON),
    ("lead_user_id", "{l}.user_id"),
    ("lead_unassigned", "{l}.user_id IS NULL"),
)


def _columns(alias=""):
    """The stays' fact columns, as a row constructor.

    >>> _columns("h")
    '(h.lead_won, h.lead_user_id, h.lead_unassigned)'
    """
    prefix = f"{alias}." if alias else ""
    return "({})".format(", ".join(prefix + column for column, _expr in STAY_FACTS))


def _facts(lead):
    """The values of the stays' facts for the lead `lead`, as a row
    constructor.

    >>> _facts("NEW")
    '(COALESCE(NEW.active AND NEW.probability = 100, false), NEW.user_id, \
NEW.user_id IS NULL)'
    """
    return "({})".format(", ".join(expr.format(l=lead) for _c, expr in STAY_FACTS))


FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION prm_stay_lead_facts() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    SELECT {_facts("l")[1:-1]} INTO {_columns("NEW")[1:-1]}
      FROM crm_lead l WHERE l.id = NEW.lead_id;
    NEW.lead_won := COALESCE(NEW.lead_won, false);
    NEW.lead_unassigned := COALESCE(NEW.lead_unassigned, false);
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION prm_lead_facts_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE prm_stage_history SET {_columns()} = {_facts("NEW")}
     WHERE lead_id = NEW.id AND {_columns()} IS DISTINCT FROM {_facts("NEW")};
    INSERT INTO {VALUE_TABLE} AS v (lead_id, value_added, {KEY_NAMES})
    VALUES (NEW.id, 0, {_keys("NEW")})
        ON CONFLICT (lead_id) DO UPDATE
       SET ({KEY_NAMES}) = ({_key_values("EXCLUDED")});
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION prm_stays_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_value_upsert("prm_new_stays")}
    ELSIF TG_OP = 'DELETE' THEN
        {_value_upsert("prm_old_stays")}
    ELSE
        {_value_upsert(
            "(SELECT unnest(ARRAY[o.lead_id, n.lead_id]) AS lead_id "
            "FROM prm_old_stays o JOIN prm_new_stays n ON n.id = o.id "
            "WHERE (o.lead_id, o.value_delta, o.is_initial) "
            "IS DISTINCT FROM (n.lead_id, n.value_delta, n.is_initial)) AS touched"
        )}
    END IF;
    RETURN NULL;
END $$;
"""

# the lead's columns its stays' facts and its value row's keys come from
_LEAD_COLUMNS = ", ".join(
    dict.fromkeys(("active", "probability", *(column for _n, column in KEYS)))
)

TRIGGERS = (
    ("prm_stay_lead_facts", "prm_stage_history", "BEFORE INSERT OR UPDATE OF lead_id",
     "FOR EACH ROW EXECUTE FUNCTION prm_stay_lead_facts()"),
    ("prm_lead_facts", "crm_lead", f"AFTER UPDATE OF {_LEAD_COLUMNS}",
     f"FOR EACH ROW WHEN (({_facts('OLD')[1:-1]}, {_keys('OLD')}) "
     f"IS DISTINCT FROM ({_facts('NEW')[1:-1]}, {_keys('NEW')})) "
     "EXECUTE FUNCTION prm_lead_facts_changed()"),
) + statement_triggers(
    "prm_stays", "prm_stage_history", "prm_stays_changed",
    "prm_old_stays", "prm_new_stays",
)  # fmt: skip


def stale_sql():
    """One row, true when the value table exists without the :data:`KEYS`
    columns (made by a version before them)."""
    names = ", ".join(f"'{name}'" for name, _column in KEYS)
    return SQL(
        f"""
        SELECT to_regclass('{VALUE_TABLE}') IS NOT NULL
           AND (SELECT count(*) FROM pg_attribute
                 WHERE attrelid = to_regclass('{VALUE_TABLE}')
                   AND attname IN ({names}) AND NOT attisdropped) < {len(KEYS)}
        """
    )


def create_sql():
    """The value table (its keys typed as crm_lead's columns), the functions
    and the triggers (idempotent). The value table has no foreign key: a
    lead's deletion deletes its stays, whose trigger must not insert rows
    pointing at it. That trigger leaves the deleted lead's row without keys
    and with a value of 0, so that the Source Quality analysis's sums (which
    read the value rows alone) never count it; :func:`sync_sql` removes such
    rows."""
    return SQL(
        f"""
        CREATE TABLE IF NOT EXISTS {VALUE_TABLE} AS
        SELECT id AS lead_id, 0::numeric AS value_added, {_keys_as("crm_lead")}
          FROM crm_lead WITH NO DATA;
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_constraint
                            WHERE conrelid = '{VALUE_TABLE}'::regclass
                              AND contype = 'p') THEN
                ALTER TABLE {VALUE_TABLE} ADD PRIMARY KEY (lead_id),
                    ALTER COLUMN value_added SET NOT NULL;
            END IF;
        END $$;
        {FORMER}
        {FUNCTIONS}
        {triggers_sql(TRIGGERS)}
        """
    )


def sync_sql():
    """The facts computed again for every lead, in one pass over the stays
    (the triggers' statement, per lead, took 7.5 s on a million leads against
    5.5 s for this one, by hand); only what differs is written."""
    return SQL(
        f"""
        UPDATE prm_stage_history h SET {_columns()} = {_facts("l")}
          FROM crm_lead l
         WHERE l.id = h.lead_id AND {_columns("h")} IS DISTINCT FROM {_facts("l")};
        UPDATE prm_stage_history h SET {_columns()} = (false, NULL, false)
         WHERE h.lead_id IS NULL
           AND {_columns("h")} IS DISTINCT FROM (false, NULL::integer, false);
        DELETE FROM {VALUE_TABLE} v
         WHERE NOT EXISTS (SELECT 1 FROM crm_lead l WHERE l.id = v.lead_id);
        WITH fresh AS (
            SELECT l.id AS lead_id, COALESCE(s.value_added, 0) AS value_added,
                   {_keys_as("l")}
              FROM crm_lead l
              LEFT JOIN (
                    SELECT h.lead_id,
                           sum({STAY_VALUE_ADDED.format(h="h")}) AS value_added
                      FROM prm_stage_history h
                     WHERE h.lead_id IS NOT NULL
                  GROUP BY h.lead_id
              ) s ON s.lead_id = l.id
        )
        INSERT INTO {VALUE_TABLE} AS v (lead_id, value_added, {KEY_NAMES})
        SELECT f.lead_id, f.value_added, {_key_values("f")}
          FROM fresh f LEFT JOIN {VALUE_TABLE} o ON o.lead_id = f.lead_id
         WHERE o.lead_id IS NULL
            OR (o.value_added, {_key_values("o")})
               IS DISTINCT FROM (f.value_added, {_key_values("f")})
      ORDER BY f.lead_id
            ON CONFLICT (lead_id) DO UPDATE
           SET (value_added, {KEY_NAMES}) = (EXCLUDED.value_added,
                {_key_values("EXCLUDED")});
        """
    )


# the triggers and functions of "won now" alone (up to 18.0.1.6.0)
FORMER = """
DROP TRIGGER IF EXISTS prm_stay_lead_won ON prm_stage_history;
DROP TRIGGER IF EXISTS prm_lead_won ON crm_lead;
DROP FUNCTION IF EXISTS prm_stay_lead_won();
DROP FUNCTION IF EXISTS prm_lead_won_changed();
"""

DROP = f"""
{drop_triggers_sql(TRIGGERS)}
{FORMER}
DROP FUNCTION IF EXISTS prm_stay_lead_facts();
DROP FUNCTION IF EXISTS prm_lead_facts_changed();
DROP FUNCTION IF EXISTS prm_stays_changed();
DROP TABLE IF EXISTS {VALUE_TABLE};
"""
