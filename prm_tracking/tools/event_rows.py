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
    rows' ``returning`` columns (replays store nothing)."""
    if not rows:
        return []
    columns = list(EVENT_COLUMNS)
    values = []
    for row in rows:
        unknown = set(row) - set(EVENT_COLUMNS)
        if unknown:
            raise ValueError(f"not prm_event columns: {sorted(unknown)}")
        cells = []
        for name in columns:
            value = row.get(name)
            if name == "payload" and value is not None:
                value = json.dumps(value, ensure_ascii=False, allow_nan=False)
            elif name == "is_bot":
                value = bool(value)
            cells.append(SQL("%s::%s", value, SQL(EVENT_COLUMNS[name])))
        cells.extend(SQL("%s", value) for value in (uid, uid, now, now))
        values.append(SQL("(%s)", SQL(", ").join(cells)))
    cr.execute(
        SQL(
            "INSERT INTO prm_event (%s) VALUES %s ON CONFLICT DO NOTHING %s",
            SQL(", ").join(
                SQL.identifier(name) for name in columns + list(AUDIT_COLUMNS)
            ),
            SQL(", ").join(values),
            _returning(returning),
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
