# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Indexes prm_tracking adds to tables of Odoo's own models."""


def email_index_name(table):
    """The b-tree index on a person table's normalized email."""
    return f"{table}_prm_email_normalized_btree"
