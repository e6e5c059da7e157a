# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Tables kept by triggers beside Odoo's own (the Engagement report's counts,
the funnel's lead facts): created idempotently by a model's ``init()``,
dropped by the uninstall hook."""


def create_new(cr, table, ddl):
    """Run the idempotent `ddl`; whether `table` did not exist before it (an
    install, or an update from a version without it: fill it then)."""
    cr.execute("SELECT to_regclass(%s)", [table])
    new = cr.fetchone()[0] is None
    cr.execute(ddl)
    return new


def triggers_sql(triggers):
    """Each trigger of `triggers`, (name, table, event, action), created again
    (dropped if it exists, then created).

    >>> print(triggers_sql([("t1", "x", "AFTER INSERT", "FOR EACH ROW ...")]))
    DROP TRIGGER IF EXISTS t1 ON x;
    CREATE TRIGGER t1 AFTER INSERT ON x FOR EACH ROW ...;
    """
    return "\n".join(
        f"{drop_triggers_sql([(name, table)])}\n"
        f"CREATE TRIGGER {name} {event} ON {table} {action};"
        for name, table, event, action in triggers
    )


def drop_triggers_sql(triggers):
    """Each trigger of `triggers` ((name, table, ...)) dropped if it exists.

    >>> print(drop_triggers_sql([("t1", "x"), ("t2", "y", "AFTER DELETE", "")]))
    DROP TRIGGER IF EXISTS t1 ON x;
    DROP TRIGGER IF EXISTS t2 ON y;
    """
    return "\n".join(
        f"DROP TRIGGER IF EXISTS {name} ON {table};" for name, table, *_rest in triggers
    )
