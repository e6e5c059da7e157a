# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Refreshes that must not run twice at once (a job, a button, a revaluation
may start the same one), in Odoo's REPEATABLE READ transactions."""

from psycopg2 import errors


def try_lock(cr, key):
    """Take the transaction's advisory lock `key` if it is free; whether it
    was taken (it is released when the transaction ends)."""
    cr.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", [key])
    return cr.fetchone()[0]


def run_unless_superseded(cr, statement, superseded=(errors.SerializationFailure,)):
    """Run `statement` in a savepoint: its rows ([] when it returns none), or
    None when it met what a concurrent refresh committed after this
    transaction's snapshot was taken (the work is left to the next run, and
    the caller's transaction goes on)."""
    try:
        with cr.savepoint(flush=False):
            cr.execute(statement, log_exceptions=False)
            return cr.fetchall() if cr.description else []
    except superseded:
        return None
