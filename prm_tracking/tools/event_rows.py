# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The one place that writes ``prm_event`` rows in bulk.

Every bulk path (the tracking API and snippet, the pixel queue, Odoo's own
apps, the website bridge) inserts through :func:`insert_events` or
:func:`insert_events_select`, so the column list and the idempotency rule
(``ON CONFLICT DO NOTHING`` on the event id) are written once.
"""

import json

from odoo.tools import SQL

# column -> PostgreSQL type of the value given for it
EVENT_COLUMNS = {
    "event_type_id": "int4",
    "channel": "varchar",
    "occurred_at": "timestamp",
    "lead_id": "int4",
    "partner_id": "int4",
    "visitor_id": "int4",
    "site_id": "int4",
    "origin": "varchar",
    "external_id": "varchar",
    "url": "varchar",
    "title": "varchar",
    "referrer": "varchar",
    "source_id": "int4",
    "medium_id": "int4",
    "campaign_id": "int4",
    "is_bot": "bool",
    "bot_reason": "varchar",
    "payload": "jsonb",
    "company_id": "int4",
}
AUDIT_COLUMNS = ("create_uid", "write_uid", "create_date", "write_date")


def _returning(returning):
    if not returning:
        return SQL()
    return SQL(
        "RETURNING %s", SQL(", ").join(SQL.identifier(name) for name in returning)
    )


def insert_events(cr, rows, uid, now, returning=("id", "lead_id", "partner_id")):
    """Insert ``rows`` (dicts of :data:`EVENT_COLUMNS`; a missing key is NULL,
    ``payload`` a dict) idempotently, in one statement; return the stored
    rows' ``returning`` columns (replays store nothing).  The values go as one
    array per column (``unnest``): a short statement whatever the batch."""
    if not rows:
        return []
    unknown = set().union(*rows) - set(EVENT_COLUMNS)
    if unknown:
        raise ValueError(f"not prm_event columns: {sorted(unknown)}")
    columns = list(EVENT_COLUMNS)
    arrays = []
    for name in columns:
        values = [row.get(name) for row in rows]
        if name == "payload":
            values = [
                None
                if value is None
                else json.dumps(value, ensure_ascii=False, allow_nan=False)
                for value in values
            ]
        elif name == "is_bot":
            values = [bool(value) for value in values]
        arrays.append(SQL("%s::%s[]", values, SQL(EVENT_COLUMNS[name])))
    cr.execute(
        SQL(
            """
        INSERT INTO prm_event (%(columns)s, create_uid, write_uid, create_date,
                               write_date)
        SELECT t.*, %(uid)s, %(uid)s, %(now)s, %(now)s
          FROM unnest(%(arrays)s) AS t(%(columns)s)
        ON CONFLICT DO NOTHING %(returning)s
            """,
            columns=SQL(", ").join(SQL.identifier(name) for name in columns),
            arrays=SQL(", ").join(arrays),
            uid=uid,
            now=now,
            returning=_returning(returning),
        )
    )
    return cr.fetchall() if returning else []


def insert_events_select(cr, expressions, from_sql, uid, now, returning=()):
    """``INSERT INTO prm_event (...) SELECT ... <from_sql>`` idempotently:
    ``expressions`` maps :data:`EVENT_COLUMNS` names to SQL expressions over
    ``from_sql`` (``FROM ... WHERE ... ORDER BY ... LIMIT``)."""
    unknown = set(expressions) - set(EVENT_COLUMNS)
    if unknown:
        raise ValueError(f"not prm_event columns: {sorted(unknown)}")
    names = list(expressions)
    cr.execute(
        SQL(
            "INSERT INTO prm_event (%s) SELECT %s, %s, %s, %s::timestamp, "
            "%s::timestamp %s ON CONFLICT DO NOTHING %s",
            SQL(", ").join(SQL.identifier(n) for n in names + list(AUDIT_COLUMNS)),
            SQL(", ").join(expressions[n] for n in names),
            uid,
            uid,
            now,
            now,
            from_sql,
            _returning(returning),
        )
    )
    return cr.fetchall() if returning else []
