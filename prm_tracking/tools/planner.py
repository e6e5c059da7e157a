# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Planner settings for the analyses' big read queries and the purge."""

from contextlib import contextmanager


@contextmanager
def _setting(cr, name, value):
    """Run the statements inside with the planner setting `name` at `value`,
    then set it back as it was. The setting is the transaction's until the
    block ends; a failed block leaves it to the transaction's end (it cannot
    run commands any more)."""
    cr.execute(
        "SELECT current_setting(%s), set_config(%s, %s, true)", [name, name, value]
    )
    before = cr.fetchone()[0]
    yield
    cr.execute("SELECT set_config(%s, %s, true)", [name, before])


@contextmanager
def without_jit(cr):
    """Run the statements inside without JIT compilation: on a million leads
    PostgreSQL compiled the Source Quality analysis's query for 90-140 ms of
    its second, for no faster run (by hand, ``EXPLAIN ANALYZE``). Fetch the
    rows inside the block."""
    with _setting(cr, "jit", "off"):
        yield


@contextmanager
def planned_for_indexes(cr):
    """Run the statements inside planned anew, with the indexes preferred:
    the plans the connection keeps (those of the foreign keys' per-row
    queries among them) are dropped before the block, and those made inside
    it dropped after it, so that none made that way outlives it.

    The purge needs it: each deleted event has its person queue rows deleted
    by a foreign key, one query per event, whose plan the connection keeps.
    Planned beside a nearly empty queue, that plan read the whole queue for
    every event once the queue had grown: 12 s for a batch of 10,000 beside
    20,000 queued rows. (Planning each of those queries every time,
    ``plan_cache_mode = force_custom_plan``, cost a second a batch.)"""
    cr.execute("DISCARD PLANS")
    with _setting(cr, "enable_seqscan", "off"):
        yield
    cr.execute("DISCARD PLANS")
