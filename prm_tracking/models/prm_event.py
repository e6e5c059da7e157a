# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
import logging
import threading
from datetime import timedelta

from odoo import api, fields, models, tools
from odoo.tools import SQL

from ..engine import EventError, bot_reason, validate_event
from ..engine.events import parse_datetime

_logger = logging.getLogger(__name__)

ORIGINS = [
    ("api", "Tracking API"),
    ("browser", "Browser snippet"),
    ("pixel", "Tracking pixel"),
    ("mass_mailing", "Email marketing"),
    ("website", "Odoo website"),
    ("activity", "Activity"),
    ("import", "Import"),
    ("manual", "Manual"),
]
STITCHING_TYPES = ("identify", "registration")
# event fields the persons' metrics (and scores) are computed from
METRIC_INPUTS = {"lead_id", "partner_id", "occurred_at", "is_bot", "event_type_id"}
PURGE_BATCH = 10000
METRICS_BATCH = 5000
RETENTION_PARAM = "prm_tracking.retention_days"
# a known visitor's row is rewritten only when its span really changes: an
# earlier first hit, or a last hit 30+ minutes later (a new session); most
# hits of a browsing session are then a pure insert of the event
VISITOR_STALE = SQL(
    "(EXCLUDED.first_seen < prm_visitor.first_seen "
    "OR EXCLUDED.last_seen > prm_visitor.last_seen + interval '30 minutes')"
)
DEFAULT_RETENTION_DAYS = 730


def untrackable(partner, lead):
    """SQL condition: the partner or lead row (table aliases, either may be the
    NULL row of a LEFT JOIN) is do-not-track or has a blacklisted email."""
    return SQL(
        "(%(p)s.prm_do_not_track IS TRUE OR %(l)s.prm_do_not_track IS TRUE "
        "OR EXISTS (SELECT 1 FROM mail_blacklist b WHERE b.active "
        "AND b.email IN (%(p)s.email_normalized, %(l)s.email_normalized)))",
        p=SQL.identifier(partner),
        l=SQL.identifier(lead),
    )


class PrmEvent(models.Model):
    """One thing a prospect did: a page view, an email open, a call, ..."""

    _name = "prm.event"
    _description = "PRM Engagement Event"
    _order = "occurred_at desc, id desc"
    _rec_name = "event_type_id"
    _check_company_auto = True

    # indexes: only those a query uses (each one slows ingestion down)
    event_type_id = fields.Many2one(
        "prm.event.type", required=True, ondelete="restrict"
    )
    event_code = fields.Char(related="event_type_id.code", string="Event Code")
    channel = fields.Selection(related="event_type_id.channel", store=True)
    occurred_at = fields.Datetime(
        required=True, default=fields.Datetime.now, index=True
    )
    lead_id = fields.Many2one(
        "crm.lead",
        ondelete="set null",
        index="btree_not_null",
        check_company=True,
    )
    partner_id = fields.Many2one(
        "res.partner", ondelete="set null", index="btree_not_null"
    )
    visitor_id = fields.Many2one(
        "prm.visitor", ondelete="set null", index="btree_not_null", readonly=True
    )
    site_id = fields.Many2one(  # indexed by prm_event_site_external_uniq
        "prm.tracking.site", ondelete="set null", readonly=True
    )
    origin = fields.Selection(
        ORIGINS, required=True, default=lambda self: self._default_origin()
    )
    external_id = fields.Char(
        string="External ID",
        help="Identifier given by the sender; replays with the same identifier "
        "are stored once.",
    )
    url = fields.Char(string="URL")
    title = fields.Char()
    referrer = fields.Char()
    source_id = fields.Many2one("utm.source", ondelete="set null")
    medium_id = fields.Many2one("utm.medium", ondelete="set null")
    campaign_id = fields.Many2one("utm.campaign", ondelete="set null")
    is_bot = fields.Boolean(string="Bot", default=False)
    bot_reason = fields.Char()
    payload = fields.Json()
    company_id = fields.Many2one(
        "res.company",
        compute="_compute_company_id",
        store=True,
        readonly=False,
        precompute=True,
        required=True,
    )

    def init(self):
        # the idempotency keys: an event id is unique per site, and per origin
        # for events without a site (Odoo's own apps, imports)
        tools.create_unique_index(
            self.env.cr,
            "prm_event_site_external_uniq",
            self._table,
            ["site_id", "external_id"],
        )
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS prm_event_origin_external_uniq "
                "ON prm_event (origin, external_id) "
                "WHERE site_id IS NULL AND external_id IS NOT NULL"
            )
        )

    def _default_origin(self):
        return "import" if self.env.context.get("import_file") else "manual"

    @api.depends("lead_id", "partner_id", "site_id")
    def _compute_company_id(self):
        for event in self:
            event.company_id = (
                event.lead_id.company_id
                or event.site_id.company_id
                or event.partner_id.company_id
                or event.company_id
                or self.env.company
            )

    # ------------------------------------------------------------------
    # ORM: keep the persons' metrics true whatever path writes events
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        events = super().create(vals_list)
        events._refresh_person_metrics()
        return events

    def write(self, vals):
        if not METRIC_INPUTS & set(vals):  # e.g. a URL corrected by a manager
            return super().write(vals)
        before = self._persons()
        res = super().write(vals)
        self._refresh_person_metrics(extra=before)
        return res

    def unlink(self):
        before = self._persons()
        res = super().unlink()
        self.browse()._refresh_person_metrics(extra=before)
        return res

    def _persons(self):
        """(lead ids, partner ids) these events are on."""
        self.flush_recordset(["lead_id", "partner_id"])
        return (set(self.lead_id.ids), set(self.partner_id.ids))

    def _refresh_person_metrics(self, extra=None):
        leads, partners = self._persons() if self else (set(), set())
        if extra:
            leads |= extra[0]
            partners |= extra[1]
        self._recompute_metrics(leads, partners)

    # ------------------------------------------------------------------
    # METRICS: set-based, for the persons touched
    # ------------------------------------------------------------------

    @api.model
    def _metric_type_ids(self):
        codes = ("page_view", "email_open", "email_click")
        types = self.env["prm.event.type"].sudo().with_context(active_test=False)
        found = {t.code: t.id for t in types.search([("code", "in", codes)])}
        return [found.get(code, 0) for code in codes]

    @api.model
    def _recompute_metrics(self, lead_ids=(), partner_ids=(), now=None):
        """Recompute the engagement metrics of these leads and partners.

        One UPDATE per model, from their (non-bot) events, rows locked in id
        order so that concurrent batches never deadlock.  A *visit* is a day
        with at least one page view.
        """
        if not any(lead_ids) and not any(partner_ids):
            return
        now = now or fields.Datetime.now()
        page_view, email_open, email_click = self._metric_type_ids()
        self.env.flush_all()
        for model, column, ids in (
            ("crm.lead", "lead_id", lead_ids),
            ("res.partner", "partner_id", partner_ids),
        ):
            ids = sorted(i for i in ids if i)
            if not ids:
                continue
            table = SQL.identifier(self.env[model]._table)
            self.env.cr.execute(
                SQL(
                    "SELECT id FROM %s WHERE id = ANY(%s) "
                    "ORDER BY id FOR NO KEY UPDATE",
                    table,
                    ids,
                )
            )
            self.env.cr.execute(
                SQL(
                    """
                UPDATE %(table)s AS p
                   SET prm_event_count = a.cnt,
                       prm_first_seen = a.first_seen,
                       prm_last_seen = a.last_seen,
                       prm_visits_7d = a.visits_7d,
                       prm_visits_30d = a.visits_30d,
                       prm_email_opens = a.opens,
                       prm_email_clicks = a.clicks
                  FROM (
                    SELECT t.id,
                           count(e.id) AS cnt,
                           min(e.occurred_at) AS first_seen,
                           max(e.occurred_at) AS last_seen,
                           count(DISTINCT date_trunc('day', e.occurred_at)) FILTER (
                               WHERE e.event_type_id = %(page_view)s
                                 AND e.occurred_at >= %(d7)s) AS visits_7d,
                           count(DISTINCT date_trunc('day', e.occurred_at)) FILTER (
                               WHERE e.event_type_id = %(page_view)s
                                 AND e.occurred_at >= %(d30)s) AS visits_30d,
                           count(e.id) FILTER (
                               WHERE e.event_type_id = %(email_open)s) AS opens,
                           count(e.id) FILTER (
                               WHERE e.event_type_id = %(email_click)s) AS clicks
                      FROM unnest(%(ids)s::int[]) AS t(id)
                 LEFT JOIN prm_event e ON e.%(column)s = t.id AND e.is_bot IS NOT TRUE
                  GROUP BY t.id
                  ) AS a
                 WHERE p.id = a.id
                    """,
                    table=table,
                    column=SQL.identifier(column),
                    page_view=page_view,
                    email_open=email_open,
                    email_click=email_click,
                    d7=now - timedelta(days=7),
                    d30=now - timedelta(days=30),
                    ids=ids,
                )
            )
            self.env[model].invalidate_model(self.env[model]._prm_metric_fields())

    # ------------------------------------------------------------------
    # INGESTION: the one method behind every public endpoint
    # ------------------------------------------------------------------

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
        """Validate and store a batch of events; return the per-event report.

        Called as superuser by the controllers (after authenticating the
        site).  Set-based: a handful of statements whatever the batch size.
        Replays are idempotent (``INSERT .. ON CONFLICT DO NOTHING`` on the
        site's event ids), so a retried transaction never stores twice.
        Events of blacklisted or do-not-track persons are dropped silently
        (and counted as accepted: the answer never tells whether a person is
        known).
        """
        now = fields.Datetime.now()
        company = company or (site.company_id if site else self.env.company)
        types = self.env["prm.event.type"]._active_types()
        report = {"accepted": 0, "duplicates": 0, "rejected": []}
        clean = []
        for index, raw in enumerate(raw_events):
            try:
                event = validate_event(raw, types, now, require_visitor=require_visitor)
            except EventError as exc:
                raw_id = raw.get("id") if isinstance(raw, dict) else None
                report["rejected"].append(
                    {
                        "index": index,
                        "id": raw_id if isinstance(raw_id, str | int) else None,
                        "error": str(exc),
                    }
                )
                continue
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
        if site and len(clean) == 1 and not clean[0]["email"] and clean[0]["visitor"]:
            # the snippet's usual case (one page view), in one statement
            stored = self._ingest_one_anonymous(clean[0], types, site, company, origin)
            # dropped for privacy (False) still answers "accepted"
            report["accepted"] = 0 if stored is None else 1
            report["duplicates"] = 1 if stored is None else 0
            return report
        valid = len(clean)
        clean = self._drop_untrackable(clean)
        visitors = self._upsert_visitors(clean, site, company, now) if site else {}
        clean = self._drop_untrackable_visitors(clean, visitors)
        utm = self._resolve_utm(clean)
        persons = self._find_persons(clean, company)
        stitched = self._stitch(clean, persons, visitors, site, company, utm)
        rows = self._insert_events(
            clean, types, site, company, origin, utm, visitors, persons
        )
        # dropped for privacy count as accepted: never reveal who is known
        report["accepted"] = len(rows) + (valid - len(clean))
        report["duplicates"] = len(clean) - len(rows)
        leads = {r[1] for r in rows} | stitched[0]
        partners = {r[2] for r in rows} | stitched[1]
        self._recompute_metrics(leads, partners, now=now)
        self.invalidate_model()
        self.env["prm.visitor"].invalidate_model()
        return report

    @api.model
    def _ingest_one_anonymous(self, event, types, site, company, origin):
        """Visitor upsert + event insert in one statement, for a single event
        without email.  Returns True (stored), None (duplicate) or False
        (dropped: the visitor's person is do-not-track or blacklisted).
        """
        utm = self._resolve_utm([event]) if event["utm"] else {}
        type_id, channel = types[event["type"]]
        uid, now, moment = self.env.uid, fields.Datetime.now(), event["occurred_at"]
        payload = {
            k: v
            for k, v in (
                ("properties", event["properties"]),
                ("user_agent", event["user_agent"] if event["bot_reason"] else None),
            )
            if v
        }
        self.env.cr.execute(
            SQL(
                """
            WITH v AS (
                INSERT INTO prm_visitor (token, site_id, company_id, first_seen,
                    last_seen, create_uid, write_uid, create_date, write_date)
                VALUES (%(token)s, %(site)s, %(company)s, %(at)s, %(at)s,
                        %(uid)s, %(uid)s, %(now)s, %(now)s)
                ON CONFLICT (site_id, token) DO UPDATE
                   SET first_seen = LEAST(prm_visitor.first_seen, EXCLUDED.first_seen),
                       last_seen = GREATEST(prm_visitor.last_seen, EXCLUDED.last_seen),
                       write_date = EXCLUDED.write_date
                 WHERE %(stale)s
                RETURNING id, partner_id, lead_id
            ), visitor AS (
                SELECT id, partner_id, lead_id FROM v
                 UNION ALL
                SELECT id, partner_id, lead_id FROM prm_visitor
                 WHERE site_id = %(site)s AND token = %(token)s
                   AND NOT EXISTS (SELECT 1 FROM v)
            ), allowed AS (
                SELECT v.* FROM visitor v
             LEFT JOIN res_partner p ON p.id = v.partner_id
             LEFT JOIN crm_lead l ON l.id = v.lead_id
                 WHERE NOT %(untrackable)s
            ), stored AS (
                INSERT INTO prm_event (event_type_id, channel, occurred_at, lead_id,
                    partner_id, visitor_id, site_id, origin, external_id, url, title,
                    referrer, source_id, medium_id, campaign_id, is_bot, bot_reason,
                    payload, company_id, create_uid, write_uid, create_date, write_date)
                SELECT %(type)s, %(channel)s, %(at)s, a.lead_id, a.partner_id, a.id,
                       %(site)s, %(origin)s, %(ext)s, %(url)s, %(title)s, %(referrer)s,
                       %(source)s::int, %(medium)s::int, %(campaign)s::int, %(is_bot)s,
                       %(bot_reason)s, %(payload)s::jsonb, %(company)s, %(uid)s,
                       %(uid)s, %(now)s, %(now)s
                  FROM allowed a
                ON CONFLICT DO NOTHING
                RETURNING lead_id, partner_id
            )
            SELECT (SELECT count(*) FROM allowed), (SELECT count(*) FROM stored),
                   (SELECT lead_id FROM stored), (SELECT partner_id FROM stored)
                """,
                token=event["visitor"],
                untrackable=untrackable("p", "l"),
                stale=VISITOR_STALE,
                site=site.id,
                company=company.id,
                at=moment,
                uid=uid,
                now=now,
                type=type_id,
                channel=channel,
                origin=origin,
                ext=event["id"],
                url=event["url"],
                title=event["title"],
                referrer=event["referrer"],
                source=utm.get(("source", event["utm"].get("source"))),
                medium=utm.get(("medium", event["utm"].get("medium"))),
                campaign=utm.get(("campaign", event["utm"].get("campaign"))),
                is_bot=bool(event["bot_reason"]),
                bot_reason=event["bot_reason"],
                payload=json.dumps(payload) if payload else None,
            )
        )
        allowed, stored, lead_id, partner_id = self.env.cr.fetchone()[:4]
        self.env["prm.visitor"].invalidate_model()
        self.invalidate_model()
        if not allowed:
            return False
        if stored and (lead_id or partner_id):
            self._recompute_metrics({lead_id}, {partner_id}, now=now)
        return True if stored else None

    @api.model
    def _drop_untrackable(self, events):
        """Events of blacklisted emails and do-not-track persons are not kept."""
        emails = sorted({e["email"] for e in events if e["email"]})
        if not emails:
            return events
        self.env.cr.execute(
            SQL(
                """
            SELECT email FROM mail_blacklist WHERE active AND email = ANY(%(emails)s)
             UNION
            SELECT email_normalized FROM res_partner
             WHERE prm_do_not_track AND email_normalized = ANY(%(emails)s)
             UNION
            SELECT email_normalized FROM crm_lead
             WHERE prm_do_not_track AND email_normalized = ANY(%(emails)s)
                """,
                emails=emails,
            )
        )
        blocked = {row[0] for row in self.env.cr.fetchall()}
        return [e for e in events if e["email"] not in blocked]

    @api.model
    def _drop_untrackable_visitors(self, events, visitors):
        """Events of visitors already linked to a do-not-track or blacklisted person."""
        ids = [v[0] for v in visitors.values() if v[1] or v[2]]
        if not ids:
            return events
        self.env.cr.execute(
            SQL(
                """
            SELECT v.token FROM prm_visitor v
         LEFT JOIN res_partner p ON p.id = v.partner_id
         LEFT JOIN crm_lead l ON l.id = v.lead_id
             WHERE v.id = ANY(%s) AND %s
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
                if kind == "campaign":
                    insert = SQL(
                        """
                    INSERT INTO utm_campaign (name, title, user_id, stage_id,
                        is_auto_campaign, active, create_uid, write_uid,
                        create_date, write_date)
                    SELECT n.name, jsonb_build_object('en_US', n.name), %(uid)s,
                           (SELECT id FROM utm_stage ORDER BY sequence, id LIMIT 1),
                           true, true, %(uid)s, %(uid)s, %(now)s, %(now)s
                      FROM unnest(%(names)s::varchar[]) AS n(name)
                    ON CONFLICT (name) DO NOTHING
                        """,
                        uid=uid,
                        now=now,
                        names=missing,
                    )
                else:
                    insert = SQL(
                        """
                    INSERT INTO %(table)s (name, create_uid, write_uid,
                                           create_date, write_date)
                    SELECT n.name, %(uid)s, %(uid)s, %(now)s, %(now)s
                      FROM unnest(%(names)s::varchar[]) AS n(name)
                    ON CONFLICT (name) DO NOTHING
                        """,
                        table=table_sql,
                        uid=uid,
                        now=now,
                        names=missing,
                    )
                if kind == "medium":
                    insert = SQL(
                        """
                    INSERT INTO utm_medium (name, active, create_uid, write_uid,
                                            create_date, write_date)
                    SELECT n.name, true, %(uid)s, %(uid)s, %(now)s, %(now)s
                      FROM unnest(%(names)s::varchar[]) AS n(name)
                    ON CONFLICT (name) DO NOTHING
                        """,
                        uid=uid,
                        now=now,
                        names=missing,
                    )
                self.env.cr.execute(insert)
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
        """Insert or touch the batch's visitors; {token: (id, partner, lead)}."""
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
        uid = self.env.uid
        values = SQL(", ").join(
            SQL(
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                token,
                site.id,
                company.id,
                first,
                last,
                uid,
                uid,
                now,
                now,
            )
            for token, (first, last) in sorted(spans.items())
        )
        self.env.cr.execute(
            SQL(
                """
            WITH up AS (
                INSERT INTO prm_visitor (token, site_id, company_id, first_seen,
                    last_seen, create_uid, write_uid, create_date, write_date)
                VALUES %(values)s
                ON CONFLICT (site_id, token) DO UPDATE
                   SET first_seen = LEAST(prm_visitor.first_seen, EXCLUDED.first_seen),
                       last_seen = GREATEST(prm_visitor.last_seen, EXCLUDED.last_seen),
                       write_date = EXCLUDED.write_date
                 WHERE %(stale)s
                RETURNING token, id, partner_id, lead_id
            )
            SELECT token, id, partner_id, lead_id FROM up
             UNION ALL
            SELECT token, id, partner_id, lead_id FROM prm_visitor
             WHERE site_id = %(site)s AND token = ANY(%(tokens)s)
               AND token NOT IN (SELECT token FROM up)
                """,
                values=values,
                stale=VISITOR_STALE,
                site=site.id,
                tokens=sorted(spans),
            )
        )
        return {row[0]: list(row[1:]) for row in self.env.cr.fetchall()}

    @api.model
    def _find_persons(self, events, company):
        """{email: [partner_id, lead_id]} of the known persons of the batch."""
        emails = sorted({e["email"] for e in events if e["email"]})
        persons = {email: [None, None] for email in emails}
        if not emails:
            return persons
        self.env.cr.execute(
            SQL(
                """
            SELECT DISTINCT ON (email_normalized) email_normalized, id
              FROM res_partner
             WHERE email_normalized = ANY(%(emails)s) AND active
               AND (company_id IS NULL OR company_id = %(company)s)
          ORDER BY email_normalized, id
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
            SELECT DISTINCT ON (email_normalized) email_normalized, id, partner_id
              FROM crm_lead
             WHERE email_normalized = ANY(%(emails)s) AND active
               AND (company_id IS NULL OR company_id = %(company)s)
          ORDER BY email_normalized, id DESC
                """,
                emails=emails,
                company=company.id,
            )
        )
        for email, lead_id, partner_id in self.env.cr.fetchall():
            persons[email][1] = lead_id
            persons[email][0] = persons[email][0] or partner_id
        return persons

    @api.model
    def _stitch(self, events, persons, visitors, site, company, utm):
        """Identify: link visitors to persons, create leads for new people,
        and move the visitors' earlier anonymous events onto them.

        Returns the (lead ids, partner ids) whose events moved.
        """
        new_people = {}
        links = {}
        for event in events:
            if event["type"] not in STITCHING_TYPES or not event["email"]:
                continue
            email = event["email"]
            if persons[email] == [None, None]:
                new_people.setdefault(email, event)
            if event["visitor"] and event["visitor"] in visitors:
                links[event["visitor"]] = email
        if new_people:
            leads = (
                self.env["crm.lead"]
                .sudo()
                .with_context(mail_create_nolog=True, tracking_disable=True)
                .create(
                    [
                        self._lead_values(email, event, company, utm)
                        for email, event in sorted(new_people.items())
                    ]
                )
            )
            for lead in leads:
                persons[lead.email_normalized or lead.email_from][1] = lead.id
            leads.flush_recordset()
        if not links:
            return set(), set()
        pairs = []
        for token, email in sorted(links.items()):
            partner_id, lead_id = persons[email]
            visitors[token][1:] = [partner_id, lead_id]
            pairs.append((visitors[token][0], partner_id, lead_id))
        values = SQL(", ").join(
            SQL("(%s, %s::int, %s::int)", vid, pid, lid) for vid, pid, lid in pairs
        )
        self.env.cr.execute(
            SQL(
                """
            UPDATE prm_visitor v SET partner_id = l.partner_id, lead_id = l.lead_id
              FROM (VALUES %s) AS l(id, partner_id, lead_id) WHERE v.id = l.id
                """,
                values,
            )
        )
        # every earlier anonymous event of these visitors, in one statement
        self.env.cr.execute(
            SQL(
                """
            UPDATE prm_event e SET partner_id = v.partner_id, lead_id = v.lead_id
              FROM prm_visitor v
             WHERE e.visitor_id = v.id AND v.id = ANY(%s)
               AND e.partner_id IS NULL AND e.lead_id IS NULL
            RETURNING e.lead_id, e.partner_id
                """,
                [p[0] for p in pairs],
            )
        )
        moved = self.env.cr.fetchall()
        return {r[0] for r in moved if r[0]}, {r[1] for r in moved if r[1]}

    @api.model
    def _lead_values(self, email, event, company, utm):
        """Values of the lead created when an unknown person identifies."""
        profile = event["profile"]
        country = (
            self.env["res.country"].search([("code", "=", profile["country"])], limit=1)
            if profile.get("country")
            else None
        )
        industry = (
            self.env["res.partner.industry"]
            .sudo()
            .search([("name", "=ilike", profile["industry"])], limit=1)
            if profile.get("industry")
            else None
        )
        interests = self.env["prm.interest"].sudo()
        for name in profile.get("interests", []):
            interest = interests.search([("name", "=ilike", name)], limit=1)
            interests |= interest or interests.create({"name": name})
        label = profile.get("name") or email
        return {
            "name": self.env._("%(who)s (website)", who=label),
            "type": "lead",
            "email_from": email,
            "contact_name": profile.get("name"),
            "partner_name": profile.get("company"),
            "function": profile.get("function"),
            "phone": profile.get("phone"),
            "country_id": country.id if country else False,
            "prm_industry_id": industry.id if industry else False,
            "prm_company_size": profile.get("company_size"),
            "prm_age_band": profile.get("age_band"),
            "prm_interest_ids": [fields.Command.set(interests.ids)],
            "source_id": utm.get(("source", event["utm"].get("source"))),
            "medium_id": utm.get(("medium", event["utm"].get("medium"))),
            "campaign_id": utm.get(("campaign", event["utm"].get("campaign"))),
            "company_id": company.id,
            "user_id": False,
        }

    @api.model
    def _insert_events(
        self, events, types, site, company, origin, utm, visitors, persons
    ):
        """One INSERT .. ON CONFLICT DO NOTHING; returns the stored rows."""
        if not events:
            return []
        uid = self.env.uid
        now = fields.Datetime.now()
        rows = []
        for event in events:
            visitor = visitors.get(event["visitor"]) if event["visitor"] else None
            partner_id, lead_id = (None, None)
            if event["email"]:
                partner_id, lead_id = persons.get(event["email"], (None, None))
            if visitor and not (partner_id or lead_id):
                partner_id, lead_id = visitor[1], visitor[2]
            type_id, channel = types[event["type"]]
            payload = {
                k: v
                for k, v in (
                    ("properties", event["properties"]),
                    ("profile", event["profile"] or None),
                    # kept only as evidence of a bot verdict (less personal data)
                    (
                        "user_agent",
                        event["user_agent"] if event["bot_reason"] else None,
                    ),
                )
                if v
            }
            rows.append(
                SQL(
                    "(%s, %s, %s, %s::int, %s::int, %s::int, %s::int, %s, %s, %s, "
                    "%s, %s, %s::int, %s::int, %s::int, %s, %s, %s::jsonb, %s, %s, "
                    "%s, %s, %s)",
                    type_id,
                    channel,
                    event["occurred_at"],
                    lead_id,
                    partner_id,
                    visitor[0] if visitor else None,
                    site.id if site else None,
                    origin,
                    event["id"],
                    event["url"],
                    event["title"],
                    event["referrer"],
                    utm.get(("source", event["utm"].get("source"))),
                    utm.get(("medium", event["utm"].get("medium"))),
                    utm.get(("campaign", event["utm"].get("campaign"))),
                    bool(event["bot_reason"]),
                    event["bot_reason"],
                    json.dumps(payload) if payload else None,
                    company.id,
                    uid,
                    uid,
                    now,
                    now,
                )
            )
        self.env.cr.execute(
            SQL(
                """
            INSERT INTO prm_event (event_type_id, channel, occurred_at, lead_id,
                partner_id, visitor_id, site_id, origin, external_id, url, title,
                referrer, source_id, medium_id, campaign_id, is_bot, bot_reason,
                payload, company_id, create_uid, write_uid, create_date, write_date)
            VALUES %s
            ON CONFLICT DO NOTHING
            RETURNING id, lead_id, partner_id
                """,
                SQL(", ").join(rows),
            )
        )
        return self.env.cr.fetchall()

    @api.model
    def _record(self, values_list):
        """Store events from Odoo's own apps, idempotently, in one statement.

        Each dict has ``code`` (event type), ``origin``, ``external_id`` (the
        idempotency key per origin), ``occurred_at`` and optionally
        ``lead_id``, ``partner_id``, ``url``, ``title``, ``source_id``,
        ``medium_id``, ``campaign_id``, ``bot_reason``.  Events of
        do-not-track or blacklisted persons are skipped.  Returns the number
        of events stored (replays store nothing).
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
        uid, now = self.env.uid, fields.Datetime.now()
        rows = []
        for vals in values_list:
            event_type = types.get(vals["code"])
            lead_id, partner_id = (
                vals.get("lead_id") or None,
                vals.get("partner_id") or None,
            )
            company_id, blocked = persons[lead_id, partner_id]
            if not event_type or blocked:
                continue
            company_id = company_id or self.env.company.id
            rows.append(
                SQL(
                    "(%s, %s, %s, %s::int, %s::int, %s, %s, %s, %s, %s::int, %s::int, "
                    "%s::int, %s, %s, %s, %s, %s, %s, %s)",
                    event_type.id,
                    event_type.channel,
                    vals["occurred_at"],
                    lead_id or None,
                    partner_id or None,
                    vals["origin"],
                    vals["external_id"],
                    vals.get("url"),
                    vals.get("title"),
                    vals.get("source_id") or None,
                    vals.get("medium_id") or None,
                    vals.get("campaign_id") or None,
                    bool(vals.get("bot_reason")),
                    vals.get("bot_reason"),
                    company_id,
                    uid,
                    uid,
                    now,
                    now,
                )
            )
        if not rows:
            return 0
        self.env.cr.execute(
            SQL(
                """
            INSERT INTO prm_event (event_type_id, channel, occurred_at, lead_id,
                partner_id, origin, external_id, url, title, source_id, medium_id,
                campaign_id, is_bot, bot_reason, company_id, create_uid, write_uid,
                create_date, write_date)
            VALUES %s
            ON CONFLICT DO NOTHING
            RETURNING lead_id, partner_id
                """,
                SQL(", ").join(rows),
            )
        )
        stored = self.env.cr.fetchall()
        self._recompute_metrics({r[0] for r in stored}, {r[1] for r in stored})
        self.invalidate_model()
        return len(stored)

    # ------------------------------------------------------------------
    # CRONS AND PRIVACY
    # ------------------------------------------------------------------

    @api.model
    def _retention_days(self):
        value = self.env["ir.config_parameter"].sudo().get_param(RETENTION_PARAM)
        try:
            return (
                max(int(value), 0)
                if value not in (None, "")
                else DEFAULT_RETENTION_DAYS
            )
        except ValueError:
            return DEFAULT_RETENTION_DAYS

    @api.model
    def _cron_purge_expired(self, batch_size=PURGE_BATCH):
        """Delete events older than the retention period, one batch per call."""
        days = self._retention_days()
        if not days:
            return
        cutoff = fields.Datetime.now() - timedelta(days=days)
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
            DELETE FROM prm_event WHERE id IN (
                SELECT id FROM prm_event WHERE occurred_at < %s ORDER BY id LIMIT %s)
            RETURNING lead_id, partner_id
                """,
                cutoff,
                batch_size,
            )
        )
        deleted = self.env.cr.fetchall()
        self._recompute_metrics({r[0] for r in deleted}, {r[1] for r in deleted})
        self.env.cr.execute(
            SQL(
                """
            DELETE FROM prm_visitor v WHERE v.last_seen < %s
               AND NOT EXISTS (SELECT 1 FROM prm_event e WHERE e.visitor_id = v.id)
                """,
                cutoff,
            )
        )
        self.env.cr.execute(
            SQL("SELECT count(*) FROM prm_event WHERE occurred_at < %s", cutoff)
        )
        remaining = self.env.cr.fetchone()[0]
        self.invalidate_model()
        self.env["prm.visitor"].invalidate_model()
        _logger.info("PRM purge: %s events deleted, %s left", len(deleted), remaining)
        self.env["ir.cron"]._notify_progress(done=len(deleted), remaining=remaining)
        commit_cron_batch(self.env)

    @api.model
    def _cron_refresh_metrics(self, batch_size=METRICS_BATCH):
        """Roll the 7/30-day windows forward for persons seen in the last 31 days."""
        since = fields.Datetime.now() - timedelta(days=31)
        done = 0
        for model in ("crm.lead", "res.partner"):
            table = SQL.identifier(self.env[model]._table)
            last_id = 0
            while True:
                self.env.cr.execute(
                    SQL(
                        """
                    SELECT id FROM %s
                     WHERE id > %s AND (prm_last_seen >= %s OR prm_visits_30d > 0)
                  ORDER BY id LIMIT %s
                        """,
                        table,
                        last_id,
                        since,
                        batch_size,
                    )
                )
                ids = [r[0] for r in self.env.cr.fetchall()]
                if not ids:
                    break
                if model == "crm.lead":
                    self._recompute_metrics(lead_ids=ids)
                else:
                    self._recompute_metrics(partner_ids=ids)
                done += len(ids)
                last_id = ids[-1]
                commit_cron_batch(self.env)
        self.env["ir.cron"]._notify_progress(done=done, remaining=0)

    @api.model
    def _forget(self, leads=None, partners=None):
        """Erase every event and visitor link of these persons (set-based)."""
        lead_ids = list(leads.ids) if leads else []
        partner_ids = list(partners.ids) if partners else []
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
            DELETE FROM prm_event e
             WHERE e.lead_id = ANY(%(leads)s) OR e.partner_id = ANY(%(partners)s)
                OR e.visitor_id IN (SELECT id FROM prm_visitor
                                     WHERE lead_id = ANY(%(leads)s)
                                        OR partner_id = ANY(%(partners)s))
                """,
                leads=lead_ids,
                partners=partner_ids,
            )
        )
        count = self.env.cr.rowcount
        self.env.cr.execute(
            SQL(
                "DELETE FROM prm_visitor "
                "WHERE lead_id = ANY(%s) OR partner_id = ANY(%s)",
                lead_ids,
                partner_ids,
            )
        )
        self._recompute_metrics(lead_ids, partner_ids)
        self.invalidate_model()
        self.env["prm.visitor"].invalidate_model()
        return count


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


def commit_cron_batch(env):
    """Commit between batches of a running cron job (never in tests, never when
    the method is called from elsewhere, e.g. during an install)."""
    if env.context.get("ir_cron_progress_id") and not getattr(
        threading.current_thread(), "testing", False
    ):
        env.cr.commit()  # pylint: disable=invalid-commit
