# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Ingestion: the one entry point behind every public endpoint and the pixel
queue (:meth:`PrmIngest._ingest`), and the one for Odoo's own apps
(:meth:`PrmIngest._record`).

A request validates its events, upserts its visitors, resolves UTM names,
appends the events (idempotently) and hands the persons it touched to the
person queue (``prm.person.queue``).  It only reads lead and partner rows:
identity stitching, lead creation, metrics, scores and qualification are the
queue job's, which runs one at a time, so concurrent requests never contend
on a person and never create one twice.
"""

import functools
import logging
from datetime import timedelta

from psycopg2 import Error as PsycopgError
from psycopg2 import OperationalError
from psycopg2.pool import PoolError

from odoo import api, fields, models, sql_db
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY
from odoo.tools import SQL, email_normalize

from ..engine import EventError, bot_reason, validate_event
from ..engine.events import is_valid_text, parse_datetime
from ..engine.keys import identity_verified
from ..tools.event_rows import insert_events
from ..tools.privacy import untrackable
from .prm_event import PUBLIC_ORIGINS

_logger = logging.getLogger(__name__)

VISITOR_SESSION = timedelta(minutes=30)


@functools.lru_cache(maxsize=8192)
def odoo_email(value):
    """Odoo's own normalization (what ``email_normalized`` holds); cached, as
    a batch often names the same people many times."""
    return email_normalize(value) or None


class PrmIngest(models.AbstractModel):
    """Turns what senders say into ``prm.event`` rows, set-based."""

    _name = "prm.ingest"
    _description = "PRM Event Ingestion"

    @api.model
    def _read_committed(self):
        """Run the rest of this request in a fresh READ COMMITTED transaction.

        Ingestion only appends (idempotently) and reads: under READ COMMITTED
        a request that meets a row another request just inserted or updated
        waits for it and goes on, where Odoo's REPEATABLE READ would fail with
        a serialization error and replay the whole batch after a back-off.
        Only the public controllers and the pixel job call this, at the start
        of their work (nothing written yet); in tests (one shared transaction)
        it does nothing.  Returns whether it switched."""
        cr = self.env.cr
        if type(cr) is not sql_db.Cursor:
            return False
        self.env.invalidate_all()
        cr.rollback()
        cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        return True

    @api.model
    def _ingest(
        self,
        raw_events,
        site=None,
        origin="api",
        user_agent=None,
        method="POST",
        headers=None,
        require_visitor=False,
        company=None,
    ):
        """Validate and store a batch of events; return the per-event report
        ``{"accepted", "duplicates", "rejected": [{"index", "id", "error"}]}``.

        Called as superuser by the controllers (after authenticating the
        site) and by the pixel queue's job.  Set-based: a handful of
        statements whatever the batch size.  Replays are idempotent (``INSERT
        .. ON CONFLICT DO NOTHING`` on the site's event ids).  Events of
        blacklisted or do-not-track persons are dropped silently (and counted
        as accepted: the answer never tells whether a person is known).

        Events from the public channels (``PUBLIC_ORIGINS``) reach a person
        by email only when the identity is signed with the site's secret;
        unsigned ones stay on their visitor, the claimed email kept.
        """
        now = fields.Datetime.now()
        company = company or (site.company_id if site else self.env.company)
        public = origin in PUBLIC_ORIGINS
        secret = site.sudo().secret_key if site and public else None
        types = self.env["prm.event.type"]._active_types()
        report = {"accepted": 0, "duplicates": 0, "rejected": []}
        clean = []
        for index, raw in enumerate(raw_events):
            try:
                event = validate_event(
                    raw,
                    types,
                    now,
                    require_visitor=require_visitor,
                    email_normalizer=odoo_email,
                )
            except EventError as exc:
                report["rejected"].append(_rejection(index, raw, str(exc)))
                continue
            except (ValueError, TypeError, OverflowError, RecursionError):
                # what the validation did not foresee still rejects one event
                _logger.warning("PRM event %s refused", index, exc_info=True)
                report["rejected"].append(_rejection(index, raw, "invalid event"))
                continue
            event["index"] = index
            event["verified"] = bool(event["email"]) and (
                not public
                or identity_verified(secret, event["email"], event["signature"])
            )
            event["bot_reason"] = bot_reason(
                event["user_agent"] or user_agent,
                method=method,
                headers=headers,
                seconds_after_delivery=_seconds_after_delivery(event),
                kind=event["type"],
            )
            clean.append(event)
        if not clean:
            return report
        self.env.flush_all()
        valid = len(clean)
        clean = self._drop_untrackable(clean)
        visitors = self._upsert_visitors(clean, site, company, now) if site else {}
        clean = self._drop_untrackable_visitors(clean, visitors)
        utm = self._resolve_utm(clean)
        persons = self._find_persons(
            {e["email"] for e in clean if e["verified"]}, company
        )
        rows = [
            self._event_row(event, types, site, company, origin, utm, visitors, persons)
            for event in clean
        ]
        stored, refused = self._store_rows(rows, clean, report)
        # dropped for privacy count as accepted: never reveal who is known
        report["accepted"] = len(stored) + (valid - len(clean))
        report["duplicates"] = len(clean) - len(stored) - refused
        self.env["prm.person.queue"]._enqueue_ingested(
            stored, company, {v[0] for v in visitors.values() if v[4]}
        )
        self.env["prm.event"].invalidate_model()
        self.env["prm.visitor"].invalidate_model()
        return report

    def _store_rows(self, rows, events, report):
        """Insert the rows in one statement; should the database refuse one
        (a value no validation foresaw), store them one by one so that only
        that event is rejected.  Returns ``([(event, row id, row)], number
        refused)``."""
        uid, now = self.env.uid, fields.Datetime.now()
        refused = 0
        try:
            with self.env.cr.savepoint():
                stored = insert_events(
                    self.env.cr, rows, uid, now, returning=("id", "external_id")
                )
        except PsycopgError as exc:
            if exc.pgcode in PG_CONCURRENCY_ERRORS_TO_RETRY:
                raise
            stored, refused = [], 0
            for row, event in zip(rows, events, strict=True):
                try:
                    with self.env.cr.savepoint():
                        stored += insert_events(
                            self.env.cr,
                            [row],
                            uid,
                            now,
                            returning=("id", "external_id"),
                        )
                except PsycopgError as one:
                    if one.pgcode in PG_CONCURRENCY_ERRORS_TO_RETRY:
                        raise
                    _logger.warning("PRM event refused by the database: %s", one)
                    refused += 1
                    report["rejected"].append(
                        _rejection(event["index"], event, "could not be stored")
                    )
            report["rejected"].sort(key=lambda r: r["index"])
        by_id = {}
        for event, row in zip(events, rows, strict=True):
            by_id.setdefault(row["external_id"], (event, row))
        return [
            (by_id[external_id][0], row_id, by_id[external_id][1])
            for row_id, external_id in stored
        ], refused

    @api.model
    def _event_row(self, event, types, site, company, origin, utm, visitors, persons):
        """The ``prm_event`` row of one clean event: on the person its
        verified email names, else on its visitor's person (if any)."""
        visitor = visitors.get(event["visitor"]) if event["visitor"] else None
        partner_id = lead_id = None
        if event["verified"]:
            partner_id, lead_id = persons.get(event["email"], (None, None))
        if visitor and not (partner_id or lead_id):
            partner_id, lead_id = visitor[1], visitor[2]
        type_id, channel = types[event["type"]]
        payload = {
            k: v
            for k, v in (
                ("properties", event["properties"]),
                ("profile", event["profile"] or None),
                # the address the sender gave, kept while it names no one
                # (unsigned, or not known yet): the person queue resolves it
                ("email", event["email"] if not (partner_id or lead_id) else None),
                # kept only as evidence of a bot verdict (less personal data)
                ("user_agent", event["user_agent"] if event["bot_reason"] else None),
            )
            if v
        }
        return {
            "event_type_id": type_id,
            "channel": channel,
            "occurred_at": event["occurred_at"],
            "lead_id": lead_id,
            "partner_id": partner_id,
            "visitor_id": visitor[0] if visitor else None,
            "site_id": site.id if site else None,
            "origin": origin,
            "external_id": event["id"],
            "url": event["url"],
            "title": event["title"],
            "referrer": event["referrer"],
            "source_id": utm.get(("source", event["utm"].get("source"))),
            "medium_id": utm.get(("medium", event["utm"].get("medium"))),
            "campaign_id": utm.get(("campaign", event["utm"].get("campaign"))),
            "is_bot": bool(event["bot_reason"]),
            "bot_reason": event["bot_reason"],
            "payload": payload or None,
            "company_id": company.id,
        }

    @api.model
    def _record(self, values_list):
        """Store events from Odoo's own apps, idempotently, in one statement.

        Each dict has ``code`` (event type), ``origin``, ``external_id`` (the
        idempotency key per origin), ``occurred_at`` and optionally
        ``lead_id``, ``partner_id``, ``url``, ``title``, ``source_id``,
        ``medium_id``, ``campaign_id``, ``bot_reason``.  Events of
        do-not-track or blacklisted persons are skipped.  The persons'
        metrics and scores follow through the person queue.  Returns the
        number of events stored (replays store nothing).
        """
        if not values_list:
            return 0
        self.env.flush_all()
        types = {t.code: t for t in self.env["prm.event.type"].sudo().search([])}
        pairs = sorted(
            {
                (v.get("lead_id") or None, v.get("partner_id") or None)
                for v in values_list
            },
            key=str,
        )
        self.env.cr.execute(
            SQL(
                """
            SELECT t.lead_id, t.partner_id, l.company_id, %(untrackable)s
              FROM unnest(%(leads)s::int[], %(partners)s::int[])
                   AS t(lead_id, partner_id)
         LEFT JOIN crm_lead l ON l.id = t.lead_id
         LEFT JOIN res_partner p ON p.id = t.partner_id
                """,
                untrackable=untrackable("p", "l"),
                leads=[pair[0] for pair in pairs],
                partners=[pair[1] for pair in pairs],
            )
        )
        # {(lead, partner): (lead's company, untrackable)}
        persons = {(row[0], row[1]): row[2:] for row in self.env.cr.fetchall()}
        rows = []
        for vals in values_list:
            event_type = types.get(vals["code"])
            lead_id = vals.get("lead_id") or None
            partner_id = vals.get("partner_id") or None
            company_id, blocked = persons[lead_id, partner_id]
            if not event_type or blocked:
                continue
            rows.append(
                {
                    "event_type_id": event_type.id,
                    "channel": event_type.channel,
                    "occurred_at": vals["occurred_at"],
                    "lead_id": lead_id,
                    "partner_id": partner_id,
                    "origin": vals["origin"],
                    "external_id": vals["external_id"],
                    "url": vals.get("url"),
                    "title": vals.get("title"),
                    "source_id": vals.get("source_id") or None,
                    "medium_id": vals.get("medium_id") or None,
                    "campaign_id": vals.get("campaign_id") or None,
                    "is_bot": bool(vals.get("bot_reason")),
                    "bot_reason": vals.get("bot_reason"),
                    "company_id": company_id or self.env.company.id,
                }
            )
        stored = insert_events(
            self.env.cr,
            rows,
            self.env.uid,
            fields.Datetime.now(),
            returning=("lead_id", "partner_id"),
        )
        self.env["prm.person.queue"]._enqueue_persons(pairs=stored)
        self.env["prm.event"].invalidate_model()
        return len(stored)

    @api.model
    def _untrackable_emails(self, emails):
        """The normalized emails among ``emails`` that must not be tracked:
        blacklisted, or of a do-not-track contact or lead."""
        emails = sorted(e for e in emails if e)
        if not emails:
            return set()
        self.env.cr.execute(
            SQL(
                """
            WITH e(email) AS (SELECT unnest(%(emails)s::varchar[]))
            SELECT b.email FROM e JOIN mail_blacklist b ON b.email = e.email
             WHERE b.active
             UNION
            SELECT p.email_normalized FROM e
              JOIN res_partner p ON p.email_normalized = e.email
             WHERE p.prm_do_not_track
             UNION
            SELECT l.email_normalized FROM e
              JOIN crm_lead l ON l.email_normalized = e.email
             WHERE l.prm_do_not_track
                """,
                emails=emails,
            )
        )
        return {row[0] for row in self.env.cr.fetchall()}

    @api.model
    def _drop_untrackable(self, events):
        """Events of blacklisted emails and do-not-track persons are not kept."""
        blocked = self._untrackable_emails({e["email"] for e in events})
        return [e for e in events if e["email"] not in blocked] if blocked else events

    @api.model
    def _drop_untrackable_visitors(self, events, visitors):
        """Events of visitors already linked to a do-not-track or blacklisted
        person, or forgotten (do-not-track visitors)."""
        ids = [v[0] for v in visitors.values() if v[1] or v[2] or v[3]]
        if not ids:
            return events
        self.env.cr.execute(
            SQL(
                """
            SELECT v.token FROM prm_visitor v
         LEFT JOIN res_partner p ON p.id = v.partner_id
         LEFT JOIN crm_lead l ON l.id = v.lead_id
             WHERE v.id = ANY(%s) AND (v.do_not_track OR %s)
                """,
                ids,
                untrackable("p", "l"),
            )
        )
        blocked = {row[0] for row in self.env.cr.fetchall()}
        if not blocked:
            return events
        return [e for e in events if e["visitor"] not in blocked]

    @api.model
    def _resolve_utm(self, events):
        """{(kind, name): id} for the UTM names of the batch (created if new).

        Matched case-insensitively like Odoo's own UTM cookies.  New names are
        inserted with ON CONFLICT DO NOTHING: when two requests bring the same
        new name at once, the later one gets a serialization failure, which
        Odoo answers by retrying the request (never a unique-name error).
        """
        found = {}
        uid, now = self.env.uid, fields.Datetime.now()
        for kind, table in (
            ("source", "utm_source"),
            ("medium", "utm_medium"),
            ("campaign", "utm_campaign"),
        ):
            names = sorted({e["utm"][kind] for e in events if kind in e["utm"]})
            if not names:
                continue
            table_sql = SQL.identifier(table)
            self.env.cr.execute(
                SQL(
                    """
                SELECT DISTINCT ON (lower(n.name)) n.name, t.id
                  FROM unnest(%s::varchar[]) AS n(name)
                  JOIN %s t ON lower(t.name) = lower(n.name)
              ORDER BY lower(n.name), t.id
                    """,
                    names,
                    table_sql,
                )
            )
            known = dict(self.env.cr.fetchall())
            missing = [name for name in names if name not in known]
            if missing:
                self.env.cr.execute(_utm_insert(kind, missing, uid, now))
                self.env.cr.execute(
                    SQL(
                        "SELECT name, id FROM %s WHERE name = ANY(%s)",
                        table_sql,
                        missing,
                    )
                )
                known.update(self.env.cr.fetchall())
                self.env[f"utm.{kind}"].invalidate_model()
            for name in names:
                found[kind, name] = known.get(name)
        return found

    @api.model
    def _upsert_visitors(self, events, site, company, now):
        """Insert the batch's new visitors; {token: [id, partner, lead,
        do_not_track, span stale]} of all its visitors.

        Existing visitor rows are only read, never locked or written: their
        span (first and last seen) and claimed email are the person queue
        job's to update, so concurrent requests about the same visitor never
        contend on its row."""
        spans = {}
        for event in events:
            token = event["visitor"]
            if token:
                first, last = spans.get(token, (event["occurred_at"],) * 2)
                spans[token] = (
                    min(first, event["occurred_at"]),
                    max(last, event["occurred_at"]),
                )
        if not spans:
            return {}
        # existing visitors are only read (a read never waits, not even for
        # the person queue's job updating their spans); only the missing ones
        # are inserted, and one another request inserted meanwhile is read
        found = self._read_visitors(site, sorted(spans))
        missing = sorted(set(spans) - set(found))
        if missing:
            found.update(self._insert_visitors(site, company, spans, missing, now))
            raced = sorted(set(missing) - set(found))
            if raced:
                found.update(self._read_visitors(site, raced))
        visitors = {}
        for token, (*values, first_seen, last_seen) in found.items():
            first, last = spans[token]
            # the job brings an existing visitor's span up to date when the
            # batch starts earlier or ends a session (30 minutes) later
            stale = bool(first_seen) and (
                first < first_seen or last > last_seen + VISITOR_SESSION
            )
            visitors[token] = [*values, stale]
        return visitors

    def _insert_visitors(self, site, company, spans, tokens, now):
        """Insert these new visitors, but those another request inserted
        meanwhile: {token: (id, partner, lead, do_not_track, None, None)}.

        When this request runs READ COMMITTED (the public endpoints and the
        pixel job), in a short transaction of its own, committed at once:
        another request bringing the same new visitor then waits for that
        commit only, never for the rest of this request (on two Odoo nodes,
        requests waited up to 16 s for each other's open transactions). Should
        this request fail afterwards, its new visitors stay, without events,
        until the retention purge removes them. Without a connection to
        spare, they are inserted in the request's transaction."""
        query = SQL(
            """
            INSERT INTO prm_visitor (token, site_id, company_id, first_seen,
                last_seen, create_uid, write_uid, create_date, write_date,
                do_not_track)
            VALUES %s
            ON CONFLICT (site_id, token) DO NOTHING
            RETURNING token, id, partner_id, lead_id, do_not_track,
                      NULL::timestamp, NULL::timestamp
            """,
            SQL(", ").join(
                SQL(
                    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, false)",
                    token,
                    site.id,
                    company.id,
                    *spans[token],
                    self.env.uid,
                    self.env.uid,
                    now,
                    now,
                )
                for token in tokens
            ),
        )
        if self._reads_committed():
            try:
                with self.env.registry.cursor() as cr:
                    cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                    # it waits only for another request's own short insert
                    # of the same visitor, unless a REPEATABLE READ
                    # transaction (deleting a site flushes its pixel hits)
                    # inserted it: waiting here would hide from PostgreSQL a
                    # deadlock of that transaction with this request
                    cr.execute("SET LOCAL lock_timeout = '2s'")
                    cr.execute(query, log_exceptions=False)
                    return {row[0]: row[1:] for row in cr.fetchall()}
            except (PoolError, OperationalError) as exc:
                # no connection to spare (pool full, server's limit), or that
                # lock: inserted in the request's transaction, as before
                _logger.info("PRM: new visitors inserted in the request: %s", exc)
        self.env.cr.execute(query)
        return {row[0]: row[1:] for row in self.env.cr.fetchall()}

    def _reads_committed(self):
        """Whether this request's transaction is a real READ COMMITTED one
        (:meth:`_read_committed`), which sees what another transaction
        commits as soon as it does; Odoo's REPEATABLE READ would not."""
        if type(self.env.cr) is not sql_db.Cursor:
            return False
        self.env.cr.execute("SELECT current_setting('transaction_isolation')")
        return self.env.cr.fetchone()[0] == "read committed"

    def _read_visitors(self, site, tokens):
        """{token: (id, partner, lead, do_not_track, first_seen, last_seen)}."""
        self.env.cr.execute(
            SQL(
                """
            SELECT token, id, partner_id, lead_id, do_not_track, first_seen,
                   last_seen
              FROM prm_visitor
             WHERE site_id = %s AND token = ANY(%s)
                """,
                site.id,
                tokens,
            )
        )
        return {row[0]: row[1:] for row in self.env.cr.fetchall()}

    @api.model
    def _find_persons(self, emails, company):
        """{email: [partner_id, lead_id]} of the known persons with these
        normalized emails in ``company`` (or shared)."""
        # the batch's emails are joined (not ``= ANY``): with ``= ANY``,
        # PostgreSQL chose Odoo's trigram index on crm_lead.email_normalized
        # on tables of some 20,000 leads (2.9 s for 1,000 emails, against
        # 2 ms through prm_tracking's b-tree or 0.1 s by a hash join)
        emails = sorted(e for e in emails if e)
        persons = {email: [None, None] for email in emails}
        if not emails:
            return persons
        self.env.cr.execute(
            SQL(
                """
            SELECT DISTINCT ON (p.email_normalized) p.email_normalized, p.id
              FROM unnest(%(emails)s::varchar[]) AS e(email)
              JOIN res_partner p ON p.email_normalized = e.email
             WHERE p.active AND (p.company_id IS NULL OR p.company_id = %(company)s)
          ORDER BY p.email_normalized, p.id
                """,
                emails=emails,
                company=company.id,
            )
        )
        for email, partner_id in self.env.cr.fetchall():
            persons[email][0] = partner_id
        self.env.cr.execute(
            SQL(
                """
            SELECT DISTINCT ON (l.email_normalized) l.email_normalized, l.id,
                   l.partner_id
              FROM unnest(%(emails)s::varchar[]) AS e(email)
              JOIN crm_lead l ON l.email_normalized = e.email
             WHERE l.active AND (l.company_id IS NULL OR l.company_id = %(company)s)
          ORDER BY l.email_normalized, l.id DESC
                """,
                emails=emails,
                company=company.id,
            )
        )
        for email, lead_id, partner_id in self.env.cr.fetchall():
            persons[email][1] = lead_id
            persons[email][0] = persons[email][0] or partner_id
        return persons


def _rejection(index, raw, error):
    """One line of the report's ``rejected``: the id is echoed only when it is
    printable text (the answer must always encode)."""
    raw_id = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    if not isinstance(raw_id, str) or not is_valid_text(raw_id):
        raw_id = None
    return {"index": index, "id": raw_id[:128] if raw_id else None, "error": error}


def _utm_insert(kind, names, uid, now):
    """INSERT of new UTM names (each table has its own required columns)."""
    if kind == "campaign":
        return SQL(
            """
        INSERT INTO utm_campaign (name, title, user_id, stage_id, is_auto_campaign,
            active, create_uid, write_uid, create_date, write_date)
        SELECT n.name, jsonb_build_object('en_US', n.name), %(uid)s,
               (SELECT id FROM utm_stage ORDER BY sequence, id LIMIT 1),
               true, true, %(uid)s, %(uid)s, %(now)s, %(now)s
          FROM unnest(%(names)s::varchar[]) AS n(name)
        ON CONFLICT (name) DO NOTHING
            """,
            uid=uid,
            now=now,
            names=names,
        )
    extra = SQL("active, ") if kind == "medium" else SQL()
    extra_value = SQL("true, ") if kind == "medium" else SQL()
    return SQL(
        """
    INSERT INTO %(table)s (name, %(extra)s create_uid, write_uid, create_date,
                           write_date)
    SELECT n.name, %(extra_value)s %(uid)s, %(uid)s, %(now)s, %(now)s
      FROM unnest(%(names)s::varchar[]) AS n(name)
    ON CONFLICT (name) DO NOTHING
        """,
        table=SQL.identifier(f"utm_{kind}"),
        extra=extra,
        extra_value=extra_value,
        uid=uid,
        now=now,
        names=names,
    )


def _seconds_after_delivery(event):
    """Seconds between delivery and an email click, when the sender says."""
    delivered = (event.get("properties") or {}).get("delivered_at")
    if not delivered or event["type"] != "email_click":
        return None
    try:
        moment = parse_datetime(delivered, event["occurred_at"])
    except EventError:
        return None
    return (event["occurred_at"] - moment).total_seconds()
