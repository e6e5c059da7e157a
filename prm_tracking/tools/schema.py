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


def statement_triggers(name, table, function, old, new):
    """The three statement triggers ``name_insert``, ``name_update`` and
    ``name_delete`` on `table`, each running `function` with the statement's
    rows as the transition tables `old` and `new` (for :func:`triggers_sql`).

    >>> [(n, event) for n, _t, event, _a in statement_triggers(
    ...     "p", "x", "f", "o", "n")]
    [('p_insert', 'AFTER INSERT'), ('p_update', 'AFTER UPDATE'), \
('p_delete', 'AFTER DELETE')]
    """
    call = f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
    return (
        (f"{name}_insert", table, "AFTER INSERT",
         f"REFERENCING NEW TABLE AS {new} {call}"),
        (f"{name}_update", table, "AFTER UPDATE",
         f"REFERENCING OLD TABLE AS {old} NEW TABLE AS {new} {call}"),
        (f"{name}_delete", table, "AFTER DELETE",
         f"REFERENCING OLD TABLE AS {old} {call}"),
    )  # fmt: skip


def statement_function(function, inserted, deleted, updated):
    """The trigger function `function` of :func:`statement_triggers`: it runs
    the SQL `inserted`, `deleted` or `updated` by the statement's kind."""
    return f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {inserted}
    ELSIF TG_OP = 'DELETE' THEN
        {deleted}
    ELSE
        {updated}
    END IF;
    RETURN NULL;
END $$;
"""


def planned_each_time(statement, only_if=None):
    """`statement` run by EXECUTE in a trigger function, so that PostgreSQL
    plans it for each statement's own transition tables (a trigger's static
    statements keep the plan of their first run: made for one ORM flush, it
    would serve a statement of a million rows); with `only_if` (a SELECT),
    run only when that finds a row, checked first the same way (planning a
    big statement costs more than a small check: the stays' other triggers
    update rows it counts nothing of, a lead's at a time). The check counts
    the rows: asked whether one exists, PostgreSQL plans for the first one
    found, a nested loop over two transition tables that takes minutes when
    none is there among a million.

    >>> planned_each_time("DELETE FROM t;")
    'EXECUTE $statement$DELETE FROM t$statement$;'
    >>> print(planned_each_time("DELETE FROM t;", "TABLE n"))
    DECLARE found_one boolean;
    BEGIN
        EXECUTE $check$SELECT count(*) > 0 FROM (TABLE n) c$check$ INTO found_one;
        IF found_one THEN
            EXECUTE $statement$DELETE FROM t$statement$;
        END IF;
    END;
    """
    run = f"EXECUTE $statement${statement.rstrip().rstrip(';')}$statement$;"
    if not only_if:
        return run
    return (
        "DECLARE found_one boolean;\n"
        "BEGIN\n"
        "    EXECUTE $check$SELECT count(*) > 0 FROM ("
        f"{only_if}) c$check$ INTO found_one;\n"
        "    IF found_one THEN\n"
        f"        {run}\n"
        "    END IF;\n"
        "END;"
    )
