# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
from datetime import timedelta

from psycopg2 import Error as PsycopgError

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY
from odoo.tools import SQL

from ..tools.cron import commit_cron_batch

_logger = logging.getLogger(__name__)

APPLY_BATCH = 5000  # rows per committed batch (short row locks); a person touched
# by many requests in that time is recomputed once
STITCHING_TYPES = ("identify", "registration")
# events a request stored for a visitor while the job was linking it are
# picked up by later runs for this long
RELINK_WINDOW = timedelta(minutes=15)


class PrmPersonQueue(models.Model):
    """Persons whose events changed, waiting for the job that applies it.

    Tracking requests only append here (plain inserts, nothing to contend
    on); the job (``_cron_apply``), which Odoo's scheduler never runs twice
    at once, resolves identities (finds or creates the person an identify
    names, links visitors, moves their anonymous events), then recomputes
    metrics, scores and qualification of the persons touched, set-based.  So
    concurrent requests never lock a lead or partner, and a new email makes
    exactly one lead.
    """

    _name = "prm.person.queue"
    _description = "PRM Person Queue"
    _order = "id"
    _log_access = False

    lead_id = fields.Many2one("crm.lead", ondelete="cascade", readonly=True)
    partner_id = fields.Many2one("res.partner", ondelete="cascade", readonly=True)
    event_id = fields.Many2one(
        "prm.event",
        ondelete="cascade",
        # deleting events (purge, forget) looks their queue rows up
        index="btree_not_null",
        readonly=True,
        help="An event whose email names a person still to resolve.",
    )
    visitor_id = fields.Many2one(
        "prm.visitor",
        ondelete="cascade",
        # deleting visitors (purge, forget) looks their queue rows up
        index="btree_not_null",
        readonly=True,
    )
    email = fields.Char(readonly=True)
    verified = fields.Boolean(
        readonly=True, help="The email came from a trusted sender or was signed."
    )
    stitch = fields.Boolean(readonly=True, help="An identify or registration event.")
    company_id = fields.Many2one("res.company", ondelete="cascade", readonly=True)
    error = fields.Text(
        readonly=True, help="Why the row could not be applied; it is then skipped."
    )

    # ------------------------------------------------------------------
    # appending
    # ------------------------------------------------------------------

    @api.model
    def _enqueue_ingested(self, stored, company, visitors=()):
        """Queue what the job must do for events just stored by ingestion:
        ``stored`` is ``[(clean event, row id, row)]``, ``visitors`` the ids
        of visitors whose span the job must bring up to date."""
        persons = set()
        identities = []
        for event, row_id, row in stored:
            attached = bool(row["lead_id"] or row["partner_id"])
            if attached:
                persons.add((row["lead_id"], row["partner_id"]))
            if not event["email"]:
                continue
            stitch = event["type"] in STITCHING_TYPES
            if event["verified"]:
                needed = not attached or (stitch and row["visitor_id"])
            else:  # to create a lead for a new email, or keep the claim
                needed = not attached and (stitch or row["visitor_id"])
            if needed:
                identities.append(
                    (
                        row_id,
                        row["visitor_id"],
                        event["email"],
                        event["verified"],
                        stitch,
                    )
                )
        self._append(persons, identities, company, visitors)

    @api.model
    def _enqueue_persons(self, lead_ids=(), partner_ids=(), pairs=()):
        """Queue these persons for a recompute of metrics and scores."""
        persons = set(pairs)
        persons.update((lead_id, None) for lead_id in lead_ids if lead_id)
        persons.update((None, partner_id) for partner_id in partner_ids if partner_id)
        self._append(persons, [], self.env.company)

    @api.model
    def _append(self, persons, identities, company, visitors=()):
        """Queue persons, identity rows and visitors (whose span and claimed
        email the job updates); wake the job up unless only visitors wait."""
        persons = sorted(
            (p for p in persons if p[0] or p[1]), key=lambda p: (p[0] or 0, p[1] or 0)
        )
        if not persons and not identities and not visitors:
            return
        rows = [
            (lead, partner, None, None, None, None, None) for lead, partner in persons
        ]
        rows.extend((None, None, *identity) for identity in identities)
        rows.extend(
            (None, None, None, visitor_id, None, None, None)
            for visitor_id in sorted(visitors)
        )
        columns = list(zip(*rows, strict=True))
        self.env.cr.execute(
            SQL(
                """
            INSERT INTO prm_person_queue (lead_id, partner_id, event_id, visitor_id,
                                          email, verified, stitch, company_id)
            SELECT t.lead_id, t.partner_id, t.event_id, t.visitor_id, t.email,
                   t.verified, t.stitch, %s
              FROM unnest(%s::int[], %s::int[], %s::int[], %s::int[], %s::varchar[],
                          %s::bool[], %s::bool[])
                   AS t(lead_id, partner_id, event_id, visitor_id, email, verified,
                        stitch)
                """,
                company.id,
                *[list(column) for column in columns],
            )
        )
        if persons or identities:
            self.env.ref("prm_tracking.ir_cron_prm_person_queue").sudo()._trigger()

    # ------------------------------------------------------------------
    # the job
    # ------------------------------------------------------------------

    @api.model
    def _cron_apply(self, batch_size=APPLY_BATCH):
        """Apply the queue, oldest first, one committed batch at a time.

        A batch that fails is applied row by row, each in a savepoint: a row
        that still fails keeps its error and is skipped from then on (see
        *Person Queue*, *Retry*), so one bad row never holds the others up.
        Visitors linked lately are swept at the end of every run, even when
        the queue was empty."""
        done = 0
        while True:
            self.env.flush_all()
            self.env.cr.execute(
                SQL(
                    """
                SELECT id, lead_id, partner_id, event_id, visitor_id, email,
                       verified, stitch, company_id
                  FROM prm_person_queue
                 WHERE error IS NULL
              ORDER BY id
                 LIMIT %s
                   FOR UPDATE SKIP LOCKED
                    """,
                    batch_size,
                )
            )
            rows = self.env.cr.fetchall()
            if not rows:
                break
            failed = self._apply_safely(rows)
            self.env.cr.execute(
                SQL(
                    "DELETE FROM prm_person_queue WHERE id = ANY(%s)",
                    [r[0] for r in rows if r[0] not in failed],
                )
            )
            for row_id, error in failed.items():
                self.env.cr.execute(
                    SQL(
                        "UPDATE prm_person_queue SET error = %s WHERE id = %s",
                        error,
                        row_id,
                    )
                )
            done += len(rows)
            self.env.cr.execute(
                "SELECT count(*) FROM prm_person_queue WHERE error IS NULL"
            )
            remaining = self.env.cr.fetchone()[0]
            self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
            commit_cron_batch(self.env)
        leads, partners = self._sweep_linked_visitors()
        self.env["prm.event"]._recompute_metrics(leads, partners)
        # the new events into the Engagement report's counts soon (read
        # beside them until then: many pending changes slow the report down),
        # in the fold's own job: its failure never undoes this one's work
        fold = self.env.ref(
            "prm_tracking.ir_cron_prm_engagement_fold", raise_if_not_found=False
        )
        if fold:
            fold._trigger()
        self.invalidate_model()
        return done

    def _apply_safely(self, rows):
        """Apply ``rows``; {row id: error} of those that could not be."""
        try:
            with self.env.cr.savepoint():
                self._apply(rows)
            return {}
        except PsycopgError as exc:
            if exc.pgcode in PG_CONCURRENCY_ERRORS_TO_RETRY:
                raise  # the whole run is tried again later
            self.env.invalidate_all()
        except Exception:  # noqa: BLE001 - isolate the bad row below
            self.env.invalidate_all()
        failed = {}
        for row in rows:
            try:
                with self.env.cr.savepoint():
                    self._apply([row])
            except PsycopgError as exc:
                if exc.pgcode in PG_CONCURRENCY_ERRORS_TO_RETRY:
                    raise
                failed[row[0]] = str(exc) or type(exc).__name__
                self.env.invalidate_all()
            except Exception as exc:  # noqa: BLE001 - keep it with its error
                _logger.exception(
                    "PRM: person queue row %s could not be applied", row[0]
                )
                failed[row[0]] = str(exc) or type(exc).__name__
                self.env.invalidate_all()
        return failed

    @api.model
    def _apply(self, rows):
        """Resolve the identities of these queue rows, then recompute the
        metrics (and so the scores) of every person touched."""
        leads = {r[1] for r in rows if r[1]}
        partners = {r[2] for r in rows if r[2]}
        identities = [r for r in sorted(rows) if r[3]]
        self._update_visitors({r[4] for r in rows if r[4]}, identities)
        if identities:
            more_leads, more_partners = self._resolve_identities(identities)
            leads |= more_leads
            partners |= more_partners
        self.env["prm.event"]._recompute_metrics(leads, partners)

    def write(self, vals):
        """Only the error is ever cleared (to retry): what a row says about a
        person is written by ingestion alone."""
        if set(vals) - {"error"} or vals.get("error"):
            raise UserError(self.env._("Queued rows cannot be edited, only retried."))
        return super().write(vals)

    def action_retry(self):
        """Queue failed rows again (after the cause was fixed)."""
        self.check_access("write")
        self.sudo().write({"error": False})
        self.env.ref("prm_tracking.ir_cron_prm_person_queue")._trigger()

    def _update_visitors(self, visitor_ids, identities):
        """Bring the spans (first and last seen) of these visitors up to date
        with their events, and keep the email an unsigned identity claimed."""
        if visitor_ids:
            self.env.cr.execute(
                SQL(
                    """
                UPDATE prm_visitor v
                   SET first_seen = LEAST(v.first_seen, a.first_seen),
                       last_seen = GREATEST(v.last_seen, a.last_seen)
                  FROM (SELECT visitor_id, min(occurred_at) AS first_seen,
                               max(occurred_at) AS last_seen
                          FROM prm_event WHERE visitor_id = ANY(%s)
                      GROUP BY visitor_id) AS a
                 WHERE v.id = a.visitor_id
                   AND (a.first_seen < v.first_seen OR a.last_seen > v.last_seen)
                    """,
                    sorted(visitor_ids),
                )
            )
        claims = {r[4]: r[5] for r in identities if r[4] and not r[6]}
        if claims:
            self.env.cr.execute(
                SQL(
                    """
                UPDATE prm_visitor v SET claimed_email = c.email
                  FROM unnest(%s::int[], %s::varchar[]) AS c(id, email)
                 WHERE v.id = c.id AND NOT v.do_not_track
                   AND v.claimed_email IS DISTINCT FROM c.email
                    """,
                    list(claims),
                    list(claims.values()),
                )
            )
        self.env["prm.visitor"].invalidate_model()

    def _resolve_identities(self, rows):
        """Find or create the person each identity row names and attach its
        event (and, for identify/registration, its visitor) to it.

        Verified rows (trusted sender or signed) may reach any person and
        verify the unverified lead they name; unsigned ones only create a lead
        for an email nobody has yet (marked unverified), never touch a known
        person, and never take a visitor another identity linked.  Emails of
        do-not-track or blacklisted persons are left alone.  Returns the
        (lead ids, partner ids) touched."""
        Ingest = self.env["prm.ingest"]
        self.env.cr.execute(
            SQL(
                """
            SELECT e.id, e.visitor_id, e.site_id, e.payload -> 'profile',
                   e.source_id, e.medium_id, e.campaign_id, v.lead_id, v.partner_id
              FROM prm_event e
         LEFT JOIN prm_visitor v ON v.id = e.visitor_id
             WHERE e.id = ANY(%s)
                """,
                [r[3] for r in rows],
            )
        )
        events = {r[0]: r for r in self.env.cr.fetchall()}
        blocked = Ingest._untrackable_emails({r[5] for r in rows})
        rows = [r for r in rows if r[3] in events and r[5] not in blocked]
        by_company = {}
        for r in rows:
            by_company.setdefault(r[8], set()).add(r[5])
        persons = {}
        for company_id, emails in by_company.items():
            company = self.env["res.company"].browse(company_id)
            for email, person in Ingest._find_persons(emails, company).items():
                persons[company_id, email] = person
        # 1. one new lead per new email (verified when any row of it is)
        creators = {}
        for r in rows:
            key = (r[8], r[5])
            if r[7] and persons[key] == [None, None]:
                if key not in creators or (r[6] and not creators[key][6]):
                    creators[key] = r
        created = self._create_leads(list(creators.values()), events)
        for key, lead_id in created.items():
            persons[key] = [None, lead_id]
        # 2. attach events and link visitors: verified rows win over unsigned
        # ones, whatever their order
        attach, link, vouched = {}, {}, set()
        creator_ids = {r[0] for r in creators.values()}
        for r in sorted(rows, key=lambda r: (r[6], r[0])):
            partner_id, lead_id = persons[r[8], r[5]]
            if not (partner_id or lead_id):
                continue
            if r[6] and lead_id:
                vouched.add(lead_id)
            if not (r[6] or r[0] in creator_ids):
                continue
            attach[r[3]] = (lead_id, partner_id)
            visitor_id = events[r[3]][1]
            visitor_linked = events[r[3]][7:9] != (None, None)
            if (
                r[7]
                and visitor_id
                and (r[6] or not (visitor_linked or visitor_id in link))
            ):
                link[visitor_id] = (lead_id, partner_id, bool(r[6]))
        if vouched:
            self.env["crm.lead"].browse(sorted(vouched))._prm_verify_identity(
                self.env._(
                    "Identity verified: the site signed it "
                    "(or sent it with its secret key)."
                )
            )
        return self._attach(attach, link)

    def _create_leads(self, rows, events):
        """Create the leads of new people; {(company, email): lead id}.
        Unverified ones of a double opt-in site are mailed the confirmation
        link, within the site's hourly cap."""
        if not rows:
            return {}
        vals_list = []
        for r in rows:
            event = events[r[3]]
            vals = self._lead_values(
                r[5],
                event[3] or {},
                {"source": event[4], "medium": event[5], "campaign": event[6]},
                self.env["res.company"].browse(r[8]),
            )
            vals["prm_identity_verified"] = bool(r[6])
            vals["prm_site_id"] = event[2]
            vals_list.append(vals)
        leads = (
            self.env["crm.lead"]
            .sudo()
            .with_context(mail_create_nolog=True, tracking_disable=True)
            .create(vals_list)
        )
        leads.flush_recordset()
        leads.filtered(
            lambda lead: not lead.prm_identity_verified
            and lead.prm_site_id.identity_verification == "double_opt_in"
        )._prm_send_identity_confirmation()
        return {(r[8], r[5]): lead.id for r, lead in zip(rows, leads, strict=True)}

    @api.model
    def _lead_values(self, email, profile, utm_ids, company):
        """Values of the lead created when an unknown person identifies; the
        declared industry and interests are matched by name (exactly, case
        aside; archived interests included), new interests created."""
        country = (
            self.env["res.country"].search([("code", "=", profile["country"])], limit=1)
            if profile.get("country")
            else None
        )
        industry = (
            self.env["res.partner.industry"]
            .sudo()
            .search([("name", "=ilike", _like_literal(profile["industry"]))], limit=1)
            if profile.get("industry")
            else None
        )
        interests = self.env["prm.interest"].sudo().with_context(active_test=False)
        for name in profile.get("interests", []):
            interest = interests.search(
                [("name", "=ilike", _like_literal(name))], limit=1
            )
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
            "source_id": utm_ids["source"],
            "medium_id": utm_ids["medium"],
            "campaign_id": utm_ids["campaign"],
            "company_id": company.id,
            "user_id": False,
        }

    def _attach(self, attach, link):
        """Put events on persons (the person they leave is touched too) and
        link visitors, saying whether each link is verified; returns the
        (lead ids, partner ids) touched."""
        leads, partners = set(), set()
        if attach:
            values = SQL(", ").join(
                SQL("(%s, %s::int, %s::int)", event_id, lead_id, partner_id)
                for event_id, (lead_id, partner_id) in sorted(attach.items())
            )
            self.env.cr.execute(
                SQL(
                    """
                UPDATE prm_event e SET lead_id = a.lead_id, partner_id = a.partner_id
                  FROM (VALUES %s) AS a(id, lead_id, partner_id),
                       prm_event o
                 WHERE e.id = a.id AND o.id = a.id
                   AND (e.lead_id, e.partner_id)
                       IS DISTINCT FROM (a.lead_id, a.partner_id)
             RETURNING a.lead_id, a.partner_id, o.lead_id, o.partner_id
                    """,
                    values,
                )
            )
            for lead_id, partner_id, old_lead, old_partner in self.env.cr.fetchall():
                leads.update((lead_id, old_lead))
                partners.update((partner_id, old_partner))
        if link:
            values = SQL(", ").join(
                SQL("(%s, %s::int, %s::int, %s)", visitor_id, lead, partner, verified)
                for visitor_id, (lead, partner, verified) in sorted(link.items())
            )
            self.env.cr.execute(
                SQL(
                    """
                UPDATE prm_visitor v
                   SET lead_id = l.lead_id, partner_id = l.partner_id,
                       link_verified = l.verified, linked_at = %s
                  FROM (VALUES %s) AS l(id, lead_id, partner_id, verified)
                 WHERE v.id = l.id
                    """,
                    fields.Datetime.now(),
                    values,
                )
            )
            self.env["prm.visitor"].invalidate_model()
        self.env["prm.event"].invalidate_model()
        return leads - {None}, partners - {None}

    def _sweep_linked_visitors(self):
        """Move onto their person the anonymous events of visitors linked
        lately: those just linked, and those a request stored events for while
        a run was linking them (that request could not see the link)."""
        self.env.cr.execute(
            SQL(
                """
            UPDATE prm_event e SET partner_id = v.partner_id, lead_id = v.lead_id
              FROM prm_visitor v
             WHERE v.linked_at >= %s AND e.visitor_id = v.id
               AND (v.lead_id IS NOT NULL OR v.partner_id IS NOT NULL)
               AND e.partner_id IS NULL AND e.lead_id IS NULL
         RETURNING e.lead_id, e.partner_id
                """,
                fields.Datetime.now() - RELINK_WINDOW,
            )
        )
        moved = self.env.cr.fetchall()
        self.env["prm.event"].invalidate_model()
        return {r[0] for r in moved if r[0]}, {r[1] for r in moved if r[1]}


def _like_literal(text):
    """``text`` as an ``=ilike`` pattern that matches it literally (its ``%``
    and ``_`` are not wildcards)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
