# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
import logging
import random
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL, sql

from odoo.addons.prm_tracking.tools.cron import commit_cron_batch
from odoo.addons.prm_tracking.tools.schema import create_new

from ..engine.history import (
    Change,
    duration_days,
    exit_kind,
    move_moment,
    rebuild,
    to_second,
)
from ..tools import lead_facts

_logger = logging.getLogger(__name__)

EXIT_KINDS = [
    ("advanced", "Advanced"),
    ("regressed", "Regressed"),
    ("won", "Won"),
    ("lost", "Lost"),
    ("merged", "Merged"),
    ("open", "Still there"),
]
LEAD_COLUMNS = (
    "stage_id",
    "active",
    "expected_revenue",
    "user_id",
    "team_id",
    "source_id",
    "medium_id",
    "campaign_id",
    "company_id",
    "create_date",
)
BACKFILL_PARAM = "prm_funnel.backfill"  # {"last_id": n, "max_id": m}
BACKFILL_BATCH = 2000


class PrmStageHistory(models.Model):
    """One stay of a lead in a stage: when it came in, when and how it left,
    and what it was worth then (expected revenue x P(won | this stage))."""

    _name = "prm.stage.history"
    _description = "PRM Stage History"
    _order = "date_enter desc, id desc"
    _rec_name = "stage_id"

    lead_id = fields.Many2one("crm.lead", ondelete="cascade", index=True)
    lead_ref = fields.Integer(
        string="Lead ID",
        required=True,
        index=True,
        help="The lead the stay belongs to (kept when that lead is merged "
        "into another one: lead_id then points at the surviving lead).",
    )
    stage_id = fields.Many2one("crm.stage", required=True, ondelete="restrict")
    previous_stage_id = fields.Many2one("crm.stage", ondelete="restrict")
    date_enter = fields.Datetime(required=True, index=True)
    date_exit = fields.Datetime()
    duration_days = fields.Float(
        string="Days in stage", digits=(16, 2), help="Empty while the stay is open."
    )
    exit_kind = fields.Selection(EXIT_KINDS, required=True, default="open", index=True)
    expected_revenue = fields.Monetary(currency_field="currency_id")
    stage_win_rate = fields.Float(
        string="P(won | stage) (%)",
        digits=(5, 2),
        help="Share of the closed leads of the team that were in this stage "
        "and were won, shrunk towards the company figure while history is thin.",
    )
    value = fields.Monetary(
        currency_field="currency_id", help="Expected revenue x P(won | stage)."
    )
    value_delta = fields.Monetary(
        string="Value change",
        currency_field="currency_id",
        help="Value minus that of the lead's previous stay (the whole value for "
        "its first stay, or after it was lost and restored).",
    )
    is_initial = fields.Boolean(
        string="First stay", help="The lead's value at creation: its initial value."
    )
    origin = fields.Selection(
        [("live", "Captured"), ("backfill", "Rebuilt from tracking")],
        required=True,
        default="live",
    )
    user_id = fields.Many2one("res.users", string="Salesperson")
    team_id = fields.Many2one("crm.team", string="Sales Team")
    source_id = fields.Many2one("utm.source", ondelete="set null")
    medium_id = fields.Many2one("utm.medium", ondelete="set null")
    campaign_id = fields.Many2one("utm.campaign", ondelete="set null")
    lead_create_date = fields.Datetime(string="Lead created on")
    lead_won = fields.Boolean(
        string="Lead won now",
        readonly=True,
        help="The lead is won now (kept by database triggers, see "
        "tools/lead_facts.py).",
    )
    lead_user_id = fields.Many2one(
        "res.users",
        string="Lead's salesperson now",
        readonly=True,
        help="The salesperson of the stay's lead now (kept by database "
        "triggers, see tools/lead_facts.py); Salesperson is the one of the "
        "stay's time.",
    )
    lead_unassigned = fields.Boolean(
        string="Lead unassigned now",
        readonly=True,
        help="The stay's lead has no salesperson now (kept by database "
        "triggers, see tools/lead_facts.py).",
    )
    company_id = fields.Many2one("res.company", index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")

    # ------------------------------------------------------------------
    # LIVE CAPTURE
    # ------------------------------------------------------------------

    @api.model
    def _prm_state(self, leads):
        """{lead id: (stage id, active)} as stored, before a write."""
        leads.flush_recordset(["stage_id", "active"])
        self.env.cr.execute(
            SQL(
                "SELECT id, stage_id, active FROM crm_lead WHERE id = ANY(%s)",
                leads.ids,
            )
        )
        return {row[0]: (row[1], row[2]) for row in self.env.cr.fetchall()}

    @api.model
    def _prm_capture(self, leads, before, now=None):
        """Record the stage moves of ``leads`` since ``before`` (see
        :meth:`_prm_state`): the open stay of each moved lead ends (advanced,
        regressed, won or lost) and a new one begins unless the lead is now
        lost.  Two statements for any number of leads.  The move is dated
        ``now`` to the second, never before the stay it ends began nor before
        the lead's creation (:func:`move_moment`, as the rebuild does)."""
        now = now or fields.Datetime.now()
        after = self._prm_lead_values(leads.ids)
        rank, won = self._prm_stage_order()
        moved = []
        for lead_id, vals in after.items():
            old_stage, old_active = before.get(lead_id, (None, None))
            if (vals["stage_id"], vals["active"]) != (old_stage, old_active):
                moved.append((lead_id, old_stage, old_active, vals))
        if not moved:
            return
        closing = [
            (lead_id, exit_kind(old_stage, vals["stage_id"], vals["active"], rank, won))
            for lead_id, old_stage, old_active, vals in moved
            if old_active and old_stage
        ]
        closed = self._prm_close_stays(closing, now)
        opening = []
        for lead_id, old_stage, _old_active, vals in moved:
            if not (vals["active"] and vals["stage_id"]):
                continue
            if lead_id in closed:
                entered, closed_value = closed[lead_id]
            else:
                entered = move_moment(now, to_second(vals["create_date"]))
                closed_value = None
            opening.append((vals, old_stage, entered, closed_value))
        self._prm_open_stays(opening)

    @api.model
    def _prm_capture_created(self, leads):
        """First stays of new leads, entered at their creation (to the second,
        as the moves are dated)."""
        values = self._prm_lead_values(leads.ids)
        self._prm_open_stays(
            [
                (vals, None, to_second(vals["create_date"]), None)
                for vals in values.values()
                if vals["active"] and vals["stage_id"]
            ]
        )

    @api.model
    def _prm_merge(self, head, tails, now=None):
        """Merged leads' open stays end ("merged"); their history follows the
        surviving lead, each stay keeping its own lead reference.

        Called before Odoo moves the merged leads' messages to the surviving
        one: a merged lead the backfill has not reached yet gets its history
        rebuilt now, from its own tracking, or it would be lost with it."""
        tails -= head
        if not tails:
            return
        pending = self._prm_backfill_pending(tails.ids)
        if pending:
            self._prm_backfill_leads(pending)
        now = now or fields.Datetime.now()
        self._prm_close_stays([(lead_id, "merged") for lead_id in tails.ids], now)
        self.flush_model()
        self.env.cr.execute(
            SQL(
                "UPDATE prm_stage_history SET lead_id = %s WHERE lead_id = ANY(%s)",
                head.id,
                tails.ids,
            )
        )
        self.invalidate_model(["lead_id"])

    def _prm_lead_values(self, lead_ids):
        """{lead id: {column: value}} of the columns a stay copies."""
        self.env["crm.lead"].flush_model(list(LEAD_COLUMNS) + ["active"])
        self.env.cr.execute(
            SQL(
                "SELECT id, %s FROM crm_lead WHERE id = ANY(%s)",
                SQL(", ").join(SQL.identifier(c) for c in LEAD_COLUMNS),
                list(lead_ids),
            )
        )
        return {
            row[0]: dict(zip(("id",) + LEAD_COLUMNS, row, strict=True))
            for row in self.env.cr.fetchall()
        }

    def _prm_lead_attributes(self, vals):
        """The lead's attributes a stay copies, from `_prm_lead_values`."""
        return {
            "user_id": vals["user_id"] or None,
            "team_id": vals["team_id"] or None,
            "source_id": vals["source_id"] or None,
            "medium_id": vals["medium_id"] or None,
            "campaign_id": vals["campaign_id"] or None,
            "lead_create_date": to_second(vals["create_date"]),
            "company_id": vals["company_id"] or self.env.company.id,
        }

    @api.model
    def _prm_stage_order(self):
        """(rank function, set of won stage ids) of the stages."""
        self.env["crm.stage"].flush_model(["sequence", "is_won"])
        self.env.cr.execute(SQL("SELECT id, sequence, is_won FROM crm_stage"))
        rows = self.env.cr.fetchall()
        place = {sid: (seq or 0, sid) for sid, seq, _won in rows}
        won = {sid for sid, _seq, is_won in rows if is_won}
        return (lambda stage: place.get(stage, (0, stage or 0))), won

    def _prm_close_stays(self, closing, now):
        """End the open stays of these (lead id, exit kind) ``now``, or when
        they began if that is later (:func:`move_moment`); returns {lead id:
        (end of the closed stay, its value)}."""
        if not closing:
            return {}
        kinds = dict(closing)
        self.flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT id, lead_id, date_enter, value FROM prm_stage_history "
                "WHERE exit_kind = 'open' AND lead_id = ANY(%s)",
                list(kinds),
            )
        )
        stays = [
            (stay_id, lead_id, enter, move_moment(now, enter), value)
            for stay_id, lead_id, enter, value in self.env.cr.fetchall()
        ]
        if not stays:
            return {}
        self.env.cr.execute(
            SQL(
                """
            UPDATE prm_stage_history h
               SET date_exit = c.exit, exit_kind = c.kind, duration_days = c.days,
                   write_date = %(now)s, write_uid = %(uid)s
              FROM unnest(%(ids)s::int[], %(exits)s::timestamp[],
                          %(kinds)s::varchar[], %(days)s::float8[])
                   AS c(id, exit, kind, days)
             WHERE h.id = c.id
                """,
                now=now,
                uid=self.env.uid,
                ids=[stay[0] for stay in stays],
                exits=[stay[3] for stay in stays],
                kinds=[kinds[stay[1]] for stay in stays],
                days=[
                    duration_days(enter, exit_) for _i, _l, enter, exit_, _v in stays
                ],
            )
        )
        self.invalidate_model()
        return {lead_id: (exit_, value) for _id, lead_id, _e, exit_, value in stays}

    def _prm_open_stays(self, opening, origin="live"):
        """Begin stays: (lead values, previous stage, entered at, value of the
        stay just closed or None).  Value = expected revenue x the stage's
        win rate for the lead's team."""
        if not opening:
            return
        rates = self.env["prm.stage.win.rate"]._prm_lookup(
            {vals["company_id"] for vals, *_rest in opening}
        )
        rows = []
        for vals, previous, entered, closed_value in opening:
            rate = rates(vals["company_id"], vals["team_id"], vals["stage_id"])
            revenue = vals["expected_revenue"] or 0.0
            value = round(revenue * rate / 100.0, 2)
            rows.append(
                {
                    "lead_id": vals["id"],
                    "lead_ref": vals["id"],
                    "stage_id": vals["stage_id"],
                    "previous_stage_id": previous or None,
                    "date_enter": entered,
                    "exit_kind": "open",
                    "expected_revenue": revenue,
                    "stage_win_rate": rate,
                    "value": value,
                    "value_delta": value - (closed_value or 0.0),
                    "is_initial": previous is None and closed_value is None,
                    "origin": origin,
                    **self._prm_lead_attributes(vals),
                }
            )
        self._prm_insert(rows)

    def _prm_insert(self, rows):
        """Insert stays in one statement (no ORM create per row)."""
        columns = list(rows[0])
        self.env.cr.execute(
            SQL(
                """
            INSERT INTO prm_stage_history (%(cols)s, create_uid, write_uid,
                                           create_date, write_date)
            SELECT %(cols)s, %(uid)s, %(uid)s, now() at time zone 'UTC',
                   now() at time zone 'UTC'
              FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(%(defs)s)
                """,
                cols=SQL(", ").join(SQL.identifier(c) for c in columns),
                uid=self.env.uid,
                rows=json.dumps(rows, default=str),
                defs=SQL(", ").join(
                    SQL("%s %s", SQL.identifier(c), SQL(self._prm_sql_type(c)))
                    for c in columns
                ),
            )
        )
        self.invalidate_model()

    def _prm_sql_type(self, column):
        field = self._fields[column]
        if field.type == "many2one":
            return "int4"
        return {
            "integer": "int4",
            "float": "float8",
            "monetary": "numeric",
            "boolean": "bool",
            "datetime": "timestamp",
            "selection": "varchar",
        }[field.type]

    # ------------------------------------------------------------------
    # BACKFILL FROM TRACKING
    # ------------------------------------------------------------------

    @api.model
    def _prm_backfill_start(self):
        """Plan the rebuild of every existing lead's history (install)."""
        self.env.cr.execute(SQL("SELECT COALESCE(max(id), 0) FROM crm_lead"))
        max_id = self.env.cr.fetchone()[0]
        self.env["ir.config_parameter"].sudo().set_param(
            BACKFILL_PARAM, json.dumps({"last_id": 0, "max_id": max_id})
        )
        return max_id

    @api.model
    def _prm_backfill_pending(self, lead_ids):
        """Those of these leads whose history the backfill has still to
        rebuild."""
        state = json.loads(
            self.env["ir.config_parameter"].sudo().get_param(BACKFILL_PARAM) or "null"
        )
        if not state:
            return []
        return [i for i in lead_ids if state["last_id"] < i <= state["max_id"]]

    @api.model
    def _cron_prm_backfill(self, batch_size=BACKFILL_BATCH):
        """Rebuild stays from tracking, batch after batch of leads.

        Run by the scheduler, each call does one batch, saves where it got to
        and reports what remains (Odoo calls it again until all is done), so
        a stopped backfill resumes; called directly, it does all batches."""
        params = self.env["ir.config_parameter"].sudo()
        state = json.loads(params.get_param(BACKFILL_PARAM) or "null")
        if not state:
            return 0
        in_cron = bool(self.env.context.get("ir_cron_progress_id"))
        done = 0
        while True:
            self.env.cr.execute(
                SQL(
                    "SELECT id FROM crm_lead WHERE id > %s AND id <= %s "
                    "ORDER BY id LIMIT %s",
                    state["last_id"],
                    state["max_id"],
                    batch_size,
                )
            )
            ids = [row[0] for row in self.env.cr.fetchall()]
            if ids:
                self._prm_backfill_leads(ids)
                done += len(ids)
                state["last_id"] = ids[-1]
            self.env.cr.execute(
                SQL(
                    "SELECT count(*) FROM crm_lead WHERE id > %s AND id <= %s",
                    state["last_id"],
                    state["max_id"],
                )
            )
            remaining = self.env.cr.fetchone()[0]
            params.set_param(BACKFILL_PARAM, json.dumps(state) if remaining else "")
            if not remaining:
                self.env["prm.stage.win.rate"]._prm_refresh()
            if in_cron:
                self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
                commit_cron_batch(self.env)
            _logger.info(
                "PRM stage history backfill: %s leads, %s left", done, remaining
            )
            if not remaining or in_cron:
                return done

    def _prm_backfill_leads(self, lead_ids, changes=None):
        """Rebuild the stays of these leads from their tracked changes of
        stage, active and expected revenue.  Stays captured live already are
        kept: the rebuild stops where they begin.  A lead rebuilt already (when
        it was merged into another one before the backfill reached it) is
        not rebuilt again."""
        self.flush_model()
        self.env.cr.execute(
            SQL(
                "SELECT lead_ref, min(date_enter), bool_or(origin = 'backfill') "
                "FROM prm_stage_history WHERE lead_ref = ANY(%s) GROUP BY lead_ref",
                list(lead_ids),
            )
        )
        live_from, rebuilt = {}, set()
        for lead_ref, first_enter, backfilled in self.env.cr.fetchall():
            live_from[lead_ref] = first_enter
            if backfilled:
                rebuilt.add(lead_ref)
        lead_ids = [lead_id for lead_id in lead_ids if lead_id not in rebuilt]
        if not lead_ids:
            return
        values = self._prm_lead_values(lead_ids)
        if changes is None:
            changes = self._prm_tracked_changes(lead_ids)
        rank, won = self._prm_stage_order()
        opening = []
        for lead_id, vals in values.items():
            stays = rebuild(
                vals["create_date"],
                vals["stage_id"],
                vals["active"],
                vals["expected_revenue"],
                changes.get(lead_id, []),
                rank,
                won,
                until=live_from.get(lead_id),
            )
            if lead_id in live_from and stays and stays[-1].exit is None:
                # the live capture took over: that stay ended where it began
                first_live = self.search(
                    [("lead_ref", "=", lead_id)], order="date_enter, id", limit=1
                )
                stays[-1].exit = max(first_live.date_enter, stays[-1].enter)
                stays[-1].exit_kind = exit_kind(
                    stays[-1].stage, first_live.stage_id.id, True, rank, won
                )
            previous = None  # the stay a value change is measured from
            for stay in stays:
                opening.append((vals, stay, previous))
                previous = None if stay.exit_kind == "lost" else stay
        self._prm_insert_rebuilt(opening)

    def _prm_insert_rebuilt(self, opening):
        if not opening:
            return
        rates = self.env["prm.stage.win.rate"]._prm_lookup(
            {vals["company_id"] for vals, _stay, _prev in opening}
        )
        rows, values = [], {}
        for vals, stay, previous in opening:
            rate = rates(vals["company_id"], vals["team_id"], stay.stage)
            value = round((stay.revenue or 0.0) * rate / 100.0, 2)
            values[id(stay)] = value
            duration = duration_days(stay.enter, stay.exit) if stay.exit else None
            rows.append(
                {
                    "lead_id": vals["id"],
                    "lead_ref": vals["id"],
                    "stage_id": stay.stage,
                    "previous_stage_id": stay.previous_stage or None,
                    "date_enter": stay.enter,
                    "date_exit": stay.exit,
                    "duration_days": duration,
                    "exit_kind": stay.exit_kind,
                    "expected_revenue": stay.revenue or 0.0,
                    "stage_win_rate": rate,
                    "value": value,
                    "value_delta": value - (values[id(previous)] if previous else 0.0),
                    "is_initial": stay.previous_stage is None and previous is None,
                    "origin": "backfill",
                    **self._prm_lead_attributes(vals),
                }
            )
        self._prm_insert(rows)

    @api.model
    def _prm_demo_history(self, days=150):
        """Demo data only: give the demo opportunities a plausible past (created
        up to `days` ago, then moved stage by stage to where they are now, won
        or lost), replayed by the backfill itself so that the funnel reports
        of a demo database have something to show."""
        # crm's own demo opportunities (the simulated prospects of
        # prm_scoring's demo already have their tracked past)
        demo_ids = (
            self.env["ir.model.data"]
            .search([("model", "=", "crm.lead"), ("module", "=", "crm")])
            .mapped("res_id")
        )
        leads = (
            self.env["crm.lead"]
            .with_context(active_test=False)
            .search([("type", "=", "opportunity"), ("id", "in", demo_ids)])
        )
        if not leads:
            return
        rank, _won = self._prm_stage_order()
        stages = sorted(
            self.env["crm.stage"].search([("is_won", "=", False)]).ids, key=rank
        )
        now = fields.Datetime.now().replace(microsecond=0)
        created, changes = {}, {}
        for lead in leads:
            draw = random.Random(lead.id)  # the same past at every install
            target = lead.stage_id.id
            before = [s for s in stages if rank(s) < rank(target)]
            # some stages are skipped on the way; lost leads drop out where they are
            path = before[:1] + [s for s in before[1:] if draw.random() < 0.8]
            path = path + [target] if target not in path else path
            moves = [("stage_id", a, b) for a, b in zip(path, path[1:], strict=False)]
            if not lead.active:
                moves.append(("active", True, False))
            start = now - timedelta(days=draw.randint(days // 3, days))
            created[lead.id] = start
            weights = [draw.random() + 0.2 for _move in moves]
            span = (now - start).total_seconds() * draw.uniform(0.5, 0.95)
            moment, steps = start, []
            for (field, old, new), weight in zip(moves, weights, strict=True):
                moment += timedelta(seconds=int(span * weight / sum(weights)))
                steps.append(Change(moment, field, old, new))
            changes[lead.id] = steps
        self.env.cr.execute(
            SQL(
                "UPDATE crm_lead l SET create_date = d.created "
                "FROM unnest(%s::int[], %s::timestamp[]) AS d(id, created) "
                "WHERE l.id = d.id",
                list(created),
                list(created.values()),
            )
        )
        self.env["crm.lead"].invalidate_model(["create_date"])
        self.env.cr.execute(
            SQL("DELETE FROM prm_stage_history WHERE lead_ref = ANY(%s)", leads.ids)
        )
        self.invalidate_model()
        self._prm_backfill_leads(leads.ids, changes=changes)
        self.env["prm.stage.win.rate"]._prm_refresh()

    def _prm_tracked_changes(self, lead_ids):
        """{lead id: [Change]} of stage, active and expected revenue.

        A merge moves the merged leads' messages to the surviving lead, each
        given a subject ("From <merged lead>..."), while Odoo logs tracking
        without one: tracking with a subject is another lead's past, not
        this lead's."""
        fields_ = {
            self.env["ir.model.fields"]._get("crm.lead", name).id: name
            for name in ("stage_id", "active", "expected_revenue")
        }
        self.env.cr.execute(
            SQL(
                """
            SELECT m.res_id, m.id, m.date, v.field_id, v.old_value_integer,
                   v.new_value_integer, v.old_value_float, v.new_value_float
              FROM mail_tracking_value v
              JOIN mail_message m ON m.id = v.mail_message_id
             WHERE m.model = 'crm.lead' AND m.res_id = ANY(%s)
               AND v.field_id = ANY(%s) AND COALESCE(m.subject, '') = ''
          ORDER BY m.res_id, m.date, m.id, v.id
                """,
                lead_ids,
                list(fields_),
            )
        )
        changes = {}
        for (
            res_id,
            message_id,
            date,
            field_id,
            old_i,
            new_i,
            old_f,
            new_f,
        ) in self.env.cr.fetchall():
            name = fields_[field_id]
            if name == "expected_revenue":
                old, new = old_f, new_f
            elif name == "active":
                old, new = bool(old_i), bool(new_i)
            else:
                old, new = old_i or None, new_i or None
            changes.setdefault(res_id, []).append(
                Change(date, name, old, new, message_id)
            )
        return changes

    # ------------------------------------------------------------------
    # VALUES
    # ------------------------------------------------------------------

    @api.model
    def _prm_revalue(self):
        """Value every stay with today's win rates (set-based): values stay
        comparable across periods as the rates learn."""
        self.flush_model()
        self.env["prm.stage.win.rate"].flush_model()
        self.env.cr.execute(
            SQL(
                """
            WITH r AS (
                SELECT h.id,
                       CASE WHEN s.is_won THEN 100.0
                            ELSE COALESCE(t.rate, c.rate, b.rate, 50.0) END AS rate
                  FROM prm_stage_history h
                  JOIN crm_stage s ON s.id = h.stage_id
             LEFT JOIN prm_stage_win_rate t ON t.company_id = h.company_id
                       AND t.team_id = h.team_id AND t.stage_id = h.stage_id
             LEFT JOIN prm_stage_win_rate c ON c.company_id = h.company_id
                       AND c.team_id IS NULL AND c.stage_id = h.stage_id
             LEFT JOIN prm_stage_win_rate b ON b.company_id = h.company_id
                       AND b.team_id IS NULL AND b.stage_id IS NULL
            ),
            v AS (
                SELECT h.id, r.rate,
                       round((h.expected_revenue * r.rate / 100.0)::numeric, 2) AS value
                  FROM prm_stage_history h JOIN r ON r.id = h.id
            ),
            d AS (
                SELECT v.id, v.rate, v.value,
                       v.value - CASE
                           WHEN lag(h.exit_kind) OVER w IS NULL
                             OR lag(h.exit_kind) OVER w = 'lost' THEN 0
                           ELSE lag(v.value) OVER w END AS delta
                  FROM prm_stage_history h JOIN v ON v.id = h.id
                WINDOW w AS (PARTITION BY h.lead_ref ORDER BY h.date_enter, h.id)
            )
            UPDATE prm_stage_history h
               SET stage_win_rate = d.rate, value = d.value, value_delta = d.delta
              FROM d
             WHERE h.id = d.id
               AND (h.stage_win_rate, h.value, h.value_delta)
                   IS DISTINCT FROM (d.rate, d.value, d.delta)
                """
            )
        )
        self.invalidate_model()
        # the weighted pipeline of the velocity figures comes from these values
        self.env["prm.velocity.report"]._prm_refresh()

    def _auto_init(self):
        cr = self.env.cr
        if sql.table_exists(cr, self._table):
            # "won now" added to an existing history: with a constant default,
            # PostgreSQL records it in the catalogue instead of writing every
            # row (Odoo would leave it NULL and the first sync would rewrite
            # them all)
            if not sql.column_exists(cr, self._table, "lead_won"):
                cr.execute(
                    SQL(
                        "ALTER TABLE %(t)s ADD COLUMN lead_won boolean DEFAULT false;"
                        "ALTER TABLE %(t)s ALTER COLUMN lead_won DROP DEFAULT",
                        t=SQL.identifier(self._table),
                    )
                )
            # the lead's salesperson now added to an existing history: filled
            # here, before the pivots' sums are made again per salesperson
            # now (prm.funnel.report's init)
            if not sql.column_exists(cr, self._table, "lead_user_id"):
                self._prm_fill_lead_users()
        return super()._auto_init()

    def _prm_fill_lead_users(self):
        """Add and fill the stays' lead's salesperson now (an update from
        18.0.1.6.0). The statement triggers of this module on the stays are
        off meanwhile (and set back as they were): none counts these columns
        but the pivots' sums, made again after this. By hand on a million
        leads: 78 s for the 3 million stays with them off; with them on, 8.9
        s instead of 5.1 s for a tenth of them."""
        cr = self.env.cr
        table = SQL.identifier(self._table)
        cr.execute(
            SQL(
                """SELECT tgname, tgenabled FROM pg_trigger
                    WHERE tgrelid = %s::regclass AND NOT tgisinternal
                      AND tgname LIKE %s AND tgenabled <> 'D'""",
                self._table,
                "prm\\_%",
            )
        )
        triggers = cr.fetchall()
        for name, _state in triggers:
            cr.execute(
                SQL("ALTER TABLE %s DISABLE TRIGGER %s", table, SQL.identifier(name))
            )
        cr.execute(
            SQL(
                """
                ALTER TABLE %(t)s ADD COLUMN lead_user_id integer,
                    ADD COLUMN lead_unassigned boolean DEFAULT false;
                ALTER TABLE %(t)s ALTER COLUMN lead_unassigned DROP DEFAULT;
                UPDATE %(t)s h SET lead_user_id = l.user_id,
                       lead_unassigned = l.user_id IS NULL
                  FROM crm_lead l
                 WHERE l.id = h.lead_id
                """,
                t=table,
            )
        )
        # 'O' enabled, 'A' always, 'R' on replicas only
        modes = {"O": SQL(""), "A": SQL("ALWAYS"), "R": SQL("REPLICA")}
        for name, state in triggers:
            cr.execute(
                SQL(
                    "ALTER TABLE %s ENABLE %s TRIGGER %s",
                    table,
                    modes[state],
                    SQL.identifier(name),
                )
            )

    def init(self):
        self.env.cr.execute(lead_facts.stale_sql())
        if self.env.cr.fetchone()[0]:  # made without the keys: made again
            self.env.cr.execute(
                SQL("DROP TABLE %s", SQL.identifier(lead_facts.VALUE_TABLE))
            )
        if create_new(self.env.cr, lead_facts.VALUE_TABLE, lead_facts.create_sql()):
            self._prm_sync_lead_facts()

    @api.model
    def _prm_sync_lead_facts(self):
        """The stored facts of the leads (won now, value added) computed
        again from scratch; the triggers keep them otherwise."""
        self.env.flush_all()
        self.env.cr.execute(lead_facts.sync_sql())
        self.invalidate_model(["lead_won", "lead_user_id", "lead_unassigned"])

    @api.model
    def _cron_prm_refresh(self):
        """Daily: learn the stage win rates again and revalue the history."""
        self._prm_sync_lead_facts()
        self.env["prm.source.report"]._prm_sync_facts()
        commit_cron_batch(self.env)  # a failure of the rest keeps this part
        self.env["prm.stage.win.rate"]._prm_refresh()
