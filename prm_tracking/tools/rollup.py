# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Sums kept per combination of dimensions, for reports over big tables.

A report that aggregates millions of rows on each opening of its pivot reads
instead a rollup: one row per combination of its dimensions, holding sums
(``measures``; the first one counts the rows). Triggers on the source table
record every change, in the transaction that makes it, as signed sums in a
delta table (inserts only: concurrent writers never wait on each other's
rows). Readers add the pending deltas to the rollup (:meth:`Rollup.report`);
a job folds them into it (:attr:`Rollup.fold`) and a daily job computes
everything again from the source (:meth:`Rollup.rebuild`), writing only the
rows that differ.

>>> r = Rollup("t_rollup", "t_delta", (("day", "date"), ("kind", "integer")),
...            (("rows", "integer"),), "t:lock")
>>> r.columns, r.group
('day, kind', '1, 2')
>>> r.key
"concat_ws('|', COALESCE((day - DATE '2000-01-01')::text, ''), \
COALESCE((kind)::text, ''))"
"""

import logging
from datetime import timedelta

from psycopg2 import errors

from odoo import fields

from .locks import run_unless_superseded, try_lock

_logger = logging.getLogger(__name__)


class Rollup:
    """The SQL of one rollup: `dims` and `measures` are (column, SQL type);
    its fold and rebuild run under the advisory lock `lock`."""

    def __init__(self, table, delta, dims, measures, lock):
        self.table = table
        self.delta = delta
        self.lock = lock
        self.dims = dims
        self.measures = measures
        self.dim_names = tuple(name for name, _type in dims)
        self.measure_names = tuple(name for name, _type in measures)
        self.columns = ", ".join(self.dim_names)
        self.all_columns = ", ".join(self.dim_names + self.measure_names)
        self.group = ", ".join(str(i + 1) for i in range(len(dims)))
        # a text key of the dimensions, NULLs included (one unique index,
        # usable by ON CONFLICT on any PostgreSQL Odoo supports)
        self.key = "concat_ws('|', {})".format(
            ", ".join(
                "COALESCE(({})::text, '')".format(
                    f"{name} - DATE '2000-01-01'" if kind.split()[0] == "date" else name
                )
                for name, kind in dims
            )
        )

    def create_sql(self):
        """The rollup and delta tables (idempotent)."""
        columns = ", ".join(f"{name} {kind}" for name, kind in self.dims)
        measures = ", ".join(f"{name} {kind} NOT NULL" for name, kind in self.measures)
        return f"""
        CREATE TABLE IF NOT EXISTS {self.table} (
            id bigserial PRIMARY KEY, key varchar NOT NULL, {columns}, {measures});
        CREATE UNIQUE INDEX IF NOT EXISTS {self.table}_key_uniq
            ON {self.table} (key);
        CREATE TABLE IF NOT EXISTS {self.delta} (
            id bigserial PRIMARY KEY, {columns}, {measures});
        """

    def ensure(self, cr, ddl):
        """Run the idempotent `ddl` (tables, functions, triggers), the tables
        first dropped when their columns are not this rollup's (a version
        that adds a dimension or a measure); whether they are new and must
        be filled."""
        cr.execute(
            "SELECT array_agg(column_name::text ORDER BY column_name) "
            "FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name IN %s",
            [(self.table, self.delta)],
        )
        found = cr.fetchone()[0]
        wanted = sorted(
            ["id", "key", *self.dim_names, *self.measure_names]
            + ["id", *self.dim_names, *self.measure_names]
        )
        if found and found != wanted:
            _logger.info("%s: new columns, summing again", self.table)
            cr.execute(self.drop_sql())
        cr.execute(ddl)
        return found != wanted

    def drop_sql(self):
        return f"DROP TABLE IF EXISTS {self.table};\nDROP TABLE IF EXISTS {self.delta};"

    def insert_delta(self, select):
        """`select` (dimensions, then measures) recorded as pending changes."""
        return f"INSERT INTO {self.delta} ({self.all_columns}) {select};"

    def _sums(self, alias="", named=False, typed=False):
        return ", ".join(
            f"sum({alias}{name})"
            + (f"::{kind.replace('integer', 'bigint')}" if typed else "")
            + (f" AS {name}" if named else "")
            for name, kind in self.measures
        )

    def typed_sums(self, alias=""):
        """The measures' sums over rows of this rollup's columns (qualified
        by `alias`), named and typed as the measures (counts as bigint: a
        sum of bigints is numeric, which Odoo reads as float)."""
        return self._sums(alias, named=True, typed=True)

    def summed(self, select):
        """The rows `select` gives (dimensions, then measures) summed per
        combination: what the rollup must hold, given its source's rows."""
        return (
            f"SELECT {self.columns}, {self._sums()} FROM ({select}) "
            f"c ({self.all_columns}) GROUP BY {self.group}"
        )

    def _changed(self, alias=""):
        return " OR ".join(f"sum({alias}{name}) <> 0" for name in self.measure_names)

    def insert_changes(self, rows, alias=""):
        """The pending changes of `rows` (FROM items and conditions giving the
        dimensions and signed measures, under their column names, qualified
        by `alias` if given), summed per combination; those that cancel out
        are left out."""
        columns = ", ".join(f"{alias}{name}" for name in self.dim_names)
        return self.insert_delta(
            f"SELECT {columns}, {self._sums(alias)} FROM {rows} "
            f"GROUP BY {self.group} HAVING {self._changed(alias)}"
        )

    @property
    def fold(self):
        """The pending deltas added to the rollup; returns (id, first measure)
        of the rows written (those at zero are to be removed)."""
        first = self.measure_names[0]
        added = ", ".join(
            f"{name} = r.{name} + EXCLUDED.{name}" for name in self.measure_names
        )
        return f"""
        WITH gone AS (DELETE FROM {self.delta} RETURNING {self.all_columns}),
        sums AS (SELECT {self.columns}, {self._sums(named=True)} FROM gone
                  GROUP BY {self.group} HAVING {self._changed()})
        INSERT INTO {self.table} AS r (key, {self.all_columns})
        SELECT {self.key}, {self.all_columns} FROM sums
        ON CONFLICT (key) DO UPDATE SET {added}
        RETURNING r.id, r.{first}
        """

    def rebuild(self, live_sql):
        """Everything summed again by `live_sql` (dimensions, then measures);
        only the rows that differ are written (ids stay, the table does not
        bloat), and the pending deltas are dropped."""
        differs = " OR ".join(f"r.{name} <> f.{name}" for name in self.measure_names)
        copied = ", ".join(f"{name} = f.{name}" for name in self.measure_names)
        return f"""
        WITH fresh AS MATERIALIZED (
            SELECT {self.key} AS key, * FROM ({live_sql}) c ({self.all_columns})
        ),
        dropped AS (
            DELETE FROM {self.table} r
             WHERE NOT EXISTS (SELECT 1 FROM fresh f WHERE f.key = r.key)
        ),
        changed AS (
            UPDATE {self.table} r SET {copied} FROM fresh f
             WHERE f.key = r.key AND ({differs})
        ),
        done AS (DELETE FROM {self.delta})
        INSERT INTO {self.table} (key, {self.all_columns})
        SELECT key, {self.all_columns} FROM fresh f
         WHERE NOT EXISTS (SELECT 1 FROM {self.table} r WHERE r.key = f.key)
        """

    @property
    def report(self):
        """The rollup plus its pending changes, one row per combination (id,
        dimensions, measures; pending-only combinations get negative ids)."""
        first = self.measure_names[0]
        r_dims = ", ".join(f"r.{name}" for name in self.dim_names)
        p_dims = ", ".join(f"p.{name}" for name in self.dim_names)
        added = ", ".join(
            f"r.{name} + COALESCE(p.{name}, 0) AS {name}" for name in self.measure_names
        )
        pending = ", ".join(f"p.{name}" for name in self.measure_names)
        return f"""
        WITH pending AS MATERIALIZED (
            SELECT {self.key} AS key, min(id) AS id, {self.columns},
                   {self._sums(named=True)}
              FROM {self.delta} GROUP BY {self.columns}
        )
        SELECT r.id, {r_dims}, {added}
          FROM {self.table} r LEFT JOIN pending p ON p.key = r.key
         WHERE r.{first} + COALESCE(p.{first}, 0) <> 0
         UNION ALL
        SELECT -p.id, {p_dims}, {pending}
          FROM pending p
         WHERE p.{first} <> 0
           AND NOT EXISTS (SELECT 1 FROM {self.table} r WHERE r.key = p.key)
        """

    def run_locked(self, cr, statement):
        """Run `statement` under the rollup's lock; its rows, or None when
        another fold or rebuild holds the lock or has just stored newer sums
        (the next run does the work). The caller flushes first."""
        if not try_lock(cr, self.lock):
            return None
        # our snapshot may predate a fold or rebuild that committed just
        # before we took the lock
        return run_unless_superseded(
            cr, statement, (errors.SerializationFailure, errors.UniqueViolation)
        )

    def run_fold(self, cr):
        """Fold the pending changes in (see :attr:`fold`) and remove the rows
        left at zero; whether it ran."""
        rows = self.run_locked(cr, self.fold)
        if rows is None:
            return False
        emptied = tuple(row_id for row_id, first in rows if not first)
        if emptied:
            cr.execute(f"DELETE FROM {self.table} WHERE id IN %s", [emptied])
        return True

    def run_rebuild(self, env, statement, retry_cron):
        """Run the rebuild `statement` (see :meth:`rebuild`) after a flush;
        met by a fold, ask the job `retry_cron` (xmlid) to try again a minute
        later rather than the next day. Whether it ran."""
        env.flush_all()
        if self.run_locked(env.cr, statement) is not None:
            return True
        _logger.info("%s: summing again in a minute (a fold ran)", self.table)
        cron = env.ref(retry_cron, raise_if_not_found=False)
        if cron:  # not during the install, before the jobs are loaded
            cron._trigger(fields.Datetime.now() + timedelta(minutes=1))
        return False
