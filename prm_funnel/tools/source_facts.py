# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""What the Source Quality report reads of each lead, in a narrow table.

The Source Quality report and analysis read some twenty columns of every
lead of their period. ``crm_lead`` rows are wide (about a hundred columns,
texts among them) and PRM's columns come last, so PostgreSQL walked each row
to its end: at a million leads, one pivot call took 0.52 s on ``crm_lead``
and 0.32 s on a narrow copy of those columns, and the analysis 1.44 s
against 1.17 s (by hand, ``EXPLAIN ANALYZE``). ``prm_lead_source_facts`` is
that copy, one row per lead, kept in the transaction that changes the lead:

- a statement trigger after INSERT on ``crm_lead`` adds the new leads' rows;
- a row trigger after an UPDATE of a copied column, when one of them
  differs, writes the lead's row again (the daily rescore changes the scores
  of most leads: that trigger's cost is the daily job's, see docs/deploy.md);
- deleting a lead deletes its row (a cascading foreign key).

Only transactions that change the lead (and so hold its row lock) write its
row, the daily sync aside. The lead's value added stays in
``prm_lead_value_added`` (tools/lead_facts.py), joined by the report: copied
here, it took the analysis from 1.12 s to 0.72 s, but every revaluation of
the stage history would then have written the rows of the leads whose value
changed, and the daily rescore or the person queue writing the same leads
meanwhile would wait for it and fail to serialize. The analysis (not the
pivot) sums it from the value rows alone instead, which carry the leads'
grouping and filter columns for that.

The table takes its column types from ``crm_lead`` itself, and leaves half
of each page free, as ``crm_lead`` does (prm_scoring), so that the daily
rewrite of the scores stays on the same page. :func:`sync_sql` compares
every row with its lead, writes only what differs and removes the rows of
leads deleted behind the foreign key's back: creating the table (an install,
or an update from a version without it) and the daily refresh of the history
run it, a safety net for data loaded or deleted with the triggers off.
Installing or updating the module creates the table again, and fills it,
when its columns are no longer those of :data:`COLUMNS` as ``crm_lead``
types them (:func:`stale_sql`).

The copied columns appear in the update trigger's definition, so PostgreSQL
refuses to change one's type while the trigger exists (``ALTER COLUMN ...
TYPE``): an update that must do so drops the trigger first (this module's
update creates it again).
"""

from odoo.tools import SQL

from odoo.addons.prm_tracking.tools.schema import drop_triggers_sql, triggers_sql

TABLE = "prm_lead_source_facts"
# the columns of crm_lead the report reads, under their own names
COLUMNS = (
    "create_date", "user_id", "team_id", "source_id", "medium_id", "campaign_id",
    "company_id", "active", "probability", "date_closed", "expected_revenue",
    "prm_first_site_id", "prm_first_referrer_domain", "prm_last_seen",
    "prm_qualified_on", "prm_accepted", "prm_first_fit_score", "prm_first_score",
    "prm_fit_score", "prm_score",
)  # fmt: skip
_LIST = ", ".join(COLUMNS)


def _of(row):
    """The copied columns of `row` (a lead row or alias), as a list."""
    return ", ".join(f"{row}.{column}" for column in COLUMNS)


FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION prm_source_facts_inserted() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO {TABLE} (lead_id, {_LIST})
    SELECT n.id, {_of("n")} FROM prm_new_leads n ORDER BY n.id
        ON CONFLICT (lead_id) DO NOTHING;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION prm_source_facts_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO {TABLE} AS f (lead_id, {_LIST})
    VALUES (NEW.id, {_of("NEW")})
        ON CONFLICT (lead_id) DO UPDATE SET ({_LIST}) = ({_of("EXCLUDED")});
    RETURN NULL;
END $$;
"""

TRIGGERS = (
    ("prm_source_facts_insert", "crm_lead", "AFTER INSERT",
     "REFERENCING NEW TABLE AS prm_new_leads FOR EACH STATEMENT "
     "EXECUTE FUNCTION prm_source_facts_inserted()"),
    ("prm_source_facts_update", "crm_lead", f"AFTER UPDATE OF {_LIST}",
     f"FOR EACH ROW WHEN (ROW({_of('OLD')}) IS DISTINCT FROM ROW({_of('NEW')})) "
     "EXECUTE FUNCTION prm_source_facts_changed()"),
)  # fmt: skip


def _shape(table, key):
    """SQL: the (name, type) of `table`'s key column `key` (named lead_id)
    and of its :data:`COLUMNS`, one row per column."""
    names = ", ".join(f"'{name}'" for name in (key, *COLUMNS))
    return (
        f"SELECT CASE a.attname WHEN '{key}' THEN 'lead_id' ELSE a.attname END, "
        "format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        f"WHERE a.attrelid = to_regclass('{table}') AND a.attname IN ({names}) "
        "AND a.attnum > 0 AND NOT a.attisdropped"
    )


def stale_sql():
    """One row, true when the table exists with other columns than
    :data:`COLUMNS` typed as in ``crm_lead`` (or without its keys)."""
    ours, theirs = _shape(TABLE, "lead_id"), _shape("crm_lead", "id")
    return SQL(
        f"""
        SELECT to_regclass('{TABLE}') IS NOT NULL AND (
               EXISTS (({ours}) EXCEPT ({theirs}))
            OR EXISTS (({theirs}) EXCEPT ({ours}))
            OR (SELECT count(*) FROM pg_attribute
                 WHERE attrelid = to_regclass('{TABLE}') AND attnum > 0
                   AND NOT attisdropped) <> {len(COLUMNS) + 1}
            OR (SELECT count(*) FROM pg_constraint
                 WHERE conrelid = to_regclass('{TABLE}')
                   AND contype IN ('p', 'f')) <> 2)
        """
    )


def create_sql():
    """The table (its columns typed as crm_lead's, half of each page kept
    free), the functions and the triggers (idempotent)."""
    return SQL(
        f"""
        CREATE TABLE IF NOT EXISTS {TABLE} WITH (fillfactor = 50) AS
        SELECT id AS lead_id, {_LIST} FROM crm_lead WITH NO DATA;
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_constraint
                            WHERE conrelid = '{TABLE}'::regclass
                              AND contype = 'p') THEN
                ALTER TABLE {TABLE} ADD PRIMARY KEY (lead_id),
                    ADD FOREIGN KEY (lead_id) REFERENCES crm_lead (id)
                        ON DELETE CASCADE;
            END IF;
        END $$;
        -- the report's list, newest first
        CREATE INDEX IF NOT EXISTS {TABLE}_create_date_idx ON {TABLE} (create_date);
        {FUNCTIONS}
        {triggers_sql(TRIGGERS)}
        """
    )


def sync_sql():
    """Every lead's row compared with the lead; only what differs written,
    and the rows of leads that no longer exist deleted (the foreign key
    deletes them, unless its trigger was off)."""
    return SQL(
        f"""
        DELETE FROM {TABLE} f
         WHERE NOT EXISTS (SELECT 1 FROM crm_lead l WHERE l.id = f.lead_id);
        INSERT INTO {TABLE} AS f (lead_id, {_LIST})
        SELECT l.id, {_of("l")}
          FROM crm_lead l LEFT JOIN {TABLE} o ON o.lead_id = l.id
         WHERE o.lead_id IS NULL OR ROW({_of("o")}) IS DISTINCT FROM ROW({_of("l")})
      ORDER BY l.id
            ON CONFLICT (lead_id) DO UPDATE SET ({_LIST}) = ({_of("EXCLUDED")});
        """
    )


DROP = f"""
{drop_triggers_sql(TRIGGERS)}
DROP FUNCTION IF EXISTS prm_source_facts_inserted();
DROP FUNCTION IF EXISTS prm_source_facts_changed();
DROP TABLE IF EXISTS {TABLE};
"""
