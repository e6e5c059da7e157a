# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Planner settings for the analyses' big read queries."""

from contextlib import contextmanager


@contextmanager
def without_jit(cr):
    """Run the statements inside without JIT compilation: on a million leads
    PostgreSQL compiled the Source Quality analysis's query for 90-140 ms of
    its second, for no faster run (by hand, ``EXPLAIN ANALYZE``). Fetch the
    rows inside the block. The setting is the transaction's until the block
    ends; a failed block leaves it to the transaction's end (it cannot run
    commands any more)."""
    cr.execute("SELECT current_setting('jit'), set_config('jit', 'off', true)")
    before = cr.fetchone()[0]
    yield
    cr.execute("SELECT set_config('jit', %s, true)", [before])
