# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json

from markupsafe import Markup

from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.prm_tracking.tools.cron import commit_cron_batch

from ..engine.idsets import as_range

GRADES = [(g, g) for g in "ABCDEF"]
QUALIFICATION = [
    ("new", "New"),
    ("eliminated", "Eliminated"),
    ("nurturing", "Nurturing"),
    ("qualified", "Qualified"),
    ("accepted", "Accepted by sales"),
    ("rejected", "Rejected by sales"),
]
OPEN_STATES = ("new", "nurturing")  # rules may still move these leads

RESCORE_BATCH = 50000  # leads scored per statement in the full recompute
SCORE_FIELDS = [
    "prm_fit_score",
    "prm_engagement_score",
    "prm_score",
    "prm_grade",
    "prm_score_updated_at",
    "prm_conversion_probability",
    "prm_has_probability",
]
RULES_CHANGED_PARAM = "prm_scoring.rules_changed"
RESCORE_RUN_PARAM = "prm_scoring.rescore_run"  # the full recompute under way


def has_probability(records):
    """Set ``prm_has_probability`` of leads or contacts: whether their stored
    probability is a number (NULL reads as 0.0 in the ORM, and "no model yet"
    must not read as "will not buy")."""
    ids = [i for i in records.ids if isinstance(i, int)]
    known = set()
    if ids:
        records.flush_recordset(["prm_conversion_probability"])
        records.env.cr.execute(
            SQL(
                "SELECT id FROM %s WHERE id = ANY(%s) "
                "AND prm_conversion_probability IS NOT NULL",
                SQL.identifier(records._table),
                ids,
            )
        )
        known = {row[0] for row in records.env.cr.fetchall()}
    for record in records:
        record.prm_has_probability = record.id in known


def pg_array(values, kind="int"):
    """An array parameter as one literal (``'{1,2,3}'::int[]``): psycopg2
    would otherwise quote each of tens of thousands of elements."""
    return SQL(
        "%s::" + kind + "[]",  # noqa: ISC003 kind is one of ours, never user input
        "{" + ",".join(map(str, values)) + "}",
    )


def ids_condition(column, ids):
    """SQL condition ``column IN ids``.  A large, dense set is read as its id
    range (one sequential or range scan) and filtered by a hashed ``= ANY``,
    which is much cheaper than thousands of index look-ups."""
    ids = sorted(ids)
    if not as_range(ids):
        return SQL("%s = ANY(%s)", column, pg_array(ids))
    return SQL(
        "%s BETWEEN %s AND %s AND %s = ANY(%s)",
        column,
        ids[0],
        ids[-1],
        column,
        pg_array(ids),
    )


def ids_domain(ids):
    """Odoo domain of records among ``ids`` (see :func:`ids_condition`); for a
    large, dense set the caller keeps only results in ``ids``."""
    ids = sorted(ids)
    if not as_range(ids):
        return [("id", "in", ids)]
    return [("id", ">=", ids[0]), ("id", "<=", ids[-1])]


class CrmLead(models.Model):
    _inherit = "crm.lead"

    prm_fit_score = fields.Float(
        string="Fit Score",
        readonly=True,
        copy=False,
        digits=(5, 2),
        aggregator="avg",
    )
    prm_engagement_score = fields.Float(
        string="Engagement Score",
        readonly=True,
        copy=False,
        digits=(5, 2),
        aggregator="avg",
    )
    prm_score = fields.Float(
        string="Score",
        readonly=True,
        copy=False,
        digits=(5, 2),
        aggregator="avg",
        help="0-100: the fit and engagement scores weighted by the active rule set.",
    )
    prm_grade = fields.Selection(
        GRADES, string="Grade", readonly=True, copy=False, help="A-F, from the fit."
    )
    prm_score_updated_at = fields.Datetime(
        string="Score Updated On", readonly=True, copy=False
    )
    prm_first_fit_score = fields.Float(
        string="Fit Score at Creation",
        readonly=True,
        copy=False,
        digits=(5, 2),
        aggregator="avg",
        help="The fit score when the lead was first scored.",
    )
    prm_first_score = fields.Float(
        string="Score at Creation",
        readonly=True,
        copy=False,
        digits=(5, 2),
        aggregator="avg",
        help="The score when the lead was first scored.",
    )
    prm_conversion_probability = fields.Float(
        string="Conversion Probability (%)",
        readonly=True,
        copy=False,
        digits=(5, 2),
        aggregator="avg",
        help="Calibrated chance (0-100) that the lead is won within the rule "
        "set's horizon, from the company's conversion model (see its model "
        "card); empty while no model could be trained.",
    )
    prm_has_probability = fields.Boolean(
        compute="_compute_prm_has_probability",
        help="A conversion model has given this lead a probability.",
    )

    prm_score_explanation = fields.Html(
        string="Why this score",
        compute="_compute_prm_score_explanation",
        sanitize=False,
        groups="prm_tracking.group_prm_user",
    )

    prm_probability_factors = fields.Html(
        string="Why this probability",
        compute="_compute_prm_probability_factors",
        sanitize=False,
        groups="prm_tracking.group_prm_user",
    )

    def _compute_prm_probability_factors(self):
        """The features that move the lead's conversion probability most,
        up or down, against an average lead (the model's contributions)."""
        Model = self.env["prm.propensity.model"]
        now = fields.Datetime.now()
        for lead in self:
            factors, why = None, None
            lead_id = lead._origin.id
            company = lead.company_id or self.env.company
            model = Model._get_active(company)
            ruleset = self.env["prm.scoring.ruleset"].sudo()._get_active(company)
            if not model:
                why = self.env._("No conversion model has been trained yet.")
            elif not ruleset or ruleset.horizon_days != model.horizon_days:
                why = self.env._(
                    "The conversion model was trained for another horizon or "
                    "rule set; the weekly training (or Train now) replaces it."
                )
            elif not lead_id:
                why = self.env._("Save the lead to see what drives its probability.")
            else:
                factors = model._factors(ruleset, lead._origin, now)
            lead.prm_probability_factors = self.env["ir.qweb"]._render(
                "prm_scoring.prm_probability_factors",
                {"factors": factors, "why": why, "horizon": model.horizon_days},
            )

    def _pls_get_lead_pls_values(self, domain=None):
        """Odoo's PLS values of leads; with ``prm_pls_stage_at`` in the
        context ({lead id: stage id}), each such lead as if in that stage (the
        model card scores Odoo's PLS on past snapshots this way)."""
        stage_of = self.env.context.get("prm_pls_stage_at")
        if not (
            self.env.su
            and isinstance(stage_of, dict)
            and all(isinstance(k, int) for k in stage_of)
        ):
            stage_of = None  # only the model card's own (superuser) call
        if stage_of and not domain:
            # Odoo's own SQL path (its batch mode), for these very leads
            domain = [("id", "in", self.ids)]
        values = super()._pls_get_lead_pls_values(domain=domain or [])
        if stage_of:
            for lead_id, lead_values in values.items():
                if lead_id in stage_of:
                    kept = [v for v in lead_values["values"] if v[0] != "stage_id"]
                    if stage_of[lead_id]:
                        kept.insert(0, ("stage_id", stage_of[lead_id]))
                    lead_values["values"] = kept
        return values

    def _compute_prm_score_explanation(self):
        """The rules and events behind the score now, summing to it exactly."""
        for lead in self:
            score = lead.id and lead._prm_score_all(explain=True).get(lead.id)
            lead.prm_score_explanation = lead._prm_render_explanation(score)

    def _prm_render_explanation(self, score):
        if not score:
            return Markup("<p class='text-muted'>%s</p>") % self.env._(
                "Not scored: no active scoring rule set for this company."
            )
        rules = (
            self.env["prm.scoring.rule"]
            .sudo()
            .browse({c.rule_id for c in score.contributions})
        )
        names = {rule.id: rule.name for rule in rules}
        events = (
            self.env["prm.event"]
            .sudo()
            .browse([c.event_id for c in score.contributions if c.event_id])
        )
        labels = {
            event.id: f"{event.event_type_id.name}, {event.occurred_at:%Y-%m-%d %H:%M}"
            for event in events
        }
        rows = Markup("").join(
            Markup(
                "<tr><td>%s</td><td>%s</td><td>%s</td><td class='text-end'>%s</td></tr>"
            )
            % (
                self.env._("Fit") if c.kind == "fit" else self.env._("Engagement"),
                names.get(c.rule_id, ""),
                labels.get(c.event_id, ""),
                f"{c.points:+.2f}",
            )
            for c in sorted(score.contributions, key=lambda c: -abs(c.points))
        )
        return Markup(
            "<table class='table table-sm'><thead><tr><th>%s</th><th>%s</th>"
            "<th>%s</th><th class='text-end'>%s</th></tr></thead><tbody>%s</tbody>"
            "<tfoot><tr><th colspan='3'>%s</th><th class='text-end'>%s</th></tr>"
            "</tfoot></table>"
        ) % (
            self.env._("Part"),
            self.env._("Rule"),
            self.env._("Event"),
            self.env._("Points"),
            rows,
            self.env._("Score (grade %(grade)s)", grade=score.grade),
            f"{score.total:.2f}",
        )

    prm_score_entry_ids = fields.One2many(
        "prm.score.entry", "lead_id", string="Score History", readonly=True
    )

    def _prm_score_groups(self, now, explain=False):
        """[(rule set, company id, lead ids, engine Scores)]: these leads
        scored by the active rule set of their company (leads of a company
        without one are left out)."""
        ids = [i for i in self.ids if i]
        if not ids:
            return []
        self.flush_model(["company_id"])
        self.env.cr.execute(
            SQL(
                "SELECT COALESCE(company_id, %s), array_agg(id) FROM crm_lead "
                "WHERE %s GROUP BY 1",
                self.env.company.id,
                ids_condition(SQL("id"), ids),
            )
        )
        groups = []
        Ruleset_ = self.env["prm.scoring.ruleset"].sudo()
        Model = self.env["prm.propensity.model"]
        for company_id, lead_ids in self.env.cr.fetchall():
            company = self.env["res.company"].browse(company_id)
            ruleset = Ruleset_._get_active(company)
            if not ruleset:
                continue
            scored, scores = ruleset._prm_score_leads(lead_ids, now, explain)
            model = Model._get_active(company)
            probability = None
            if model and model.horizon_days == ruleset.horizon_days:
                probability = model._predict(ruleset, scored, scores, now)
            groups.append((ruleset, company_id, scored, scores, probability))
        return groups

    def _compute_prm_has_probability(self):
        has_probability(self)

    def _prm_score_all(self, now=None, explain=False):
        """{lead id: engine Score} for these leads (see _prm_score_groups)."""
        now = now or fields.Datetime.now()
        return {
            int(lead_id): scores.score(i)
            for _ruleset, _co, ids, scores, _p in self._prm_score_groups(now, explain)
            for i, lead_id in enumerate(ids)
        }

    def _prm_rescore(self, now=None, reason="recompute"):
        """Score these leads, store the scores that changed, append the ledger
        entries of changes of at least one point, then update the partners'
        scores and run the qualification rules.  Returns the number of leads
        scored."""
        now = now or fields.Datetime.now()
        scored = []
        # the user behind an event or a rule change; none for scheduled jobs
        uid = None if self.env.uid == SUPERUSER_ID else self.env.uid
        for ruleset, _company, ids, scores, probability in self._prm_score_groups(now):
            scored.extend(ids.tolist())
            if probability is None:
                probability = [""] * len(ids)  # NULL: no model to say
            else:
                probability = probability.tolist()
            self.env.cr.execute(
                SQL(
                    """
            WITH v(id, fit, eng, total, grade, prob) AS (
                SELECT * FROM unnest(%(ids)s, %(fit)s, %(eng)s, %(total)s, %(grade)s,
                                     %(prob)s)
            ),
            last AS (
                SELECT DISTINCT ON (e.lead_id) e.lead_id, e.new_score
                  FROM prm_score_entry e
                 WHERE %(in_ledger)s
              ORDER BY e.lead_id, e.id DESC
            ),
            upd AS (
                -- only rows whose score really changes: a lead row is wide and
                -- heavily indexed, rewriting it costs more than all the maths
                UPDATE crm_lead l
                   SET prm_fit_score = v.fit, prm_engagement_score = v.eng,
                       prm_score = v.total, prm_grade = v.grade,
                       prm_conversion_probability = v.prob,
                       prm_first_fit_score = COALESCE(l.prm_first_fit_score, v.fit),
                       prm_first_score = COALESCE(l.prm_first_score, v.total),
                       prm_score_updated_at = %(now)s
                  FROM v
                 WHERE l.id = v.id
                   AND (l.prm_fit_score, l.prm_engagement_score, l.prm_score,
                        l.prm_grade, l.prm_conversion_probability)
                       IS DISTINCT FROM (v.fit, v.eng, v.total, v.grade, v.prob)
             RETURNING l.id
            )
            INSERT INTO prm_score_entry (lead_id, ruleset_id, computed_at,
                old_score, new_score, delta, reason, user_id, company_id)
            SELECT v.id, %(ruleset)s, %(now)s, COALESCE(last.new_score, 0),
                   v.total, v.total - COALESCE(last.new_score, 0), %(reason)s,
                   %(uid)s, l.company_id
              FROM v JOIN crm_lead l ON l.id = v.id
         LEFT JOIN last ON last.lead_id = v.id
             WHERE abs(v.total - COALESCE(last.new_score, 0)) >= 1
                    """,
                    ids=pg_array(ids.tolist()),
                    fit=pg_array(scores.fit.tolist(), "numeric"),
                    eng=pg_array(scores.engagement.tolist(), "numeric"),
                    total=pg_array(scores.total.tolist(), "numeric"),
                    grade=pg_array(scores.grade.tolist(), "varchar"),
                    prob=pg_array(
                        ["NULL" if p == "" else p for p in probability], "numeric"
                    ),
                    in_ledger=ids_condition(SQL("e.lead_id"), ids.tolist()),
                    ruleset=ruleset.id,
                    now=now,
                    reason=reason,
                    uid=uid,
                )
            )
        if not scored:
            return 0
        self.env["prm.score.entry"].invalidate_model()
        self.invalidate_model(SCORE_FIELDS + ["prm_first_fit_score", "prm_first_score"])
        self.env.cr.execute(
            SQL(
                "SELECT DISTINCT partner_id FROM crm_lead "
                "WHERE %s AND partner_id IS NOT NULL",
                ids_condition(SQL("id"), scored),
            )
        )
        partner_ids = [row[0] for row in self.env.cr.fetchall()]
        self.env["res.partner"].browse(partner_ids)._prm_aggregate_scores(now)
        self.browse(scored)._prm_qualify()
        return len(scored)

    @api.model
    def _cron_prm_rescore_all(self, batch_size=RESCORE_BATCH, now=None):
        """Full recompute (daily, for decay; and at once after a rule change).

        Run by the scheduler, each call scores one batch of leads, commits and
        reports what remains, so Odoo calls it again until all are done; the
        run (its instant, reason and last lead) is saved, so a run that was
        stopped resumes where it was.  Called directly, it scores every
        lead.  Returns the number of leads scored by this call."""
        params = self.env["ir.config_parameter"].sudo()
        run = json.loads(params.get_param(RESCORE_RUN_PARAM) or "null")
        if not run or now:
            changed = params.get_param(RULES_CHANGED_PARAM)
            params.set_param(RULES_CHANGED_PARAM, False)
            run = {
                "now": fields.Datetime.to_string(now or fields.Datetime.now()),
                "reason": "rule_change" if changed else "decay",
                "last_id": 0,
            }
        in_cron = bool(self.env.context.get("ir_cron_progress_id"))
        done = 0
        while True:
            self.env.cr.execute(
                SQL(
                    "SELECT id FROM crm_lead WHERE id > %s ORDER BY id LIMIT %s",
                    run["last_id"],
                    batch_size,
                )
            )
            ids = [row[0] for row in self.env.cr.fetchall()]
            if ids:
                self.browse(ids)._prm_rescore(
                    now=fields.Datetime.to_datetime(run["now"]), reason=run["reason"]
                )
                done += len(ids)
                run["last_id"] = ids[-1]
            self.env.cr.execute(
                SQL("SELECT count(*) FROM crm_lead WHERE id > %s", run["last_id"])
            )
            remaining = self.env.cr.fetchone()[0]
            params.set_param(RESCORE_RUN_PARAM, json.dumps(run) if remaining else "")
            if in_cron:
                self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
                commit_cron_batch(self.env)
            if not remaining or in_cron:
                return done

    # ------------------------------------------------------------------
    # QUALIFICATION
    # ------------------------------------------------------------------

    prm_qualification = fields.Selection(
        QUALIFICATION,
        string="Qualification",
        default="new",
        required=True,
        copy=False,
        tracking=True,
        index=True,
    )
    prm_qualification_rule_id = fields.Many2one(
        "prm.qualification.rule", string="Decided by", readonly=True, copy=False
    )
    prm_qualification_entry_ids = fields.One2many(
        "prm.qualification.entry",
        "lead_id",
        string="Qualification Moves",
        readonly=True,
    )
    # kept by database triggers on the moves (see tools/decision_facts.py)
    prm_qualified_on = fields.Datetime(
        string="Qualified on",
        readonly=True,
        copy=False,
        help="The lead's first move to qualified.",
    )
    prm_accepted = fields.Boolean(string="Accepted by sales", readonly=True, copy=False)

    @api.model
    def _prm_own_leads_only(self):
        """Whether the user reads only their own and unassigned leads (crm's
        salesperson rule), for SQL that record rules do not reach."""
        return not (
            self.env.su
            or self.env.user.has_group("sales_team.group_sale_salesman_all_leads")
        )

    def _prm_qualify(self):
        """Apply the company's qualification rules to these leads: each rule
        of the plan (:meth:`_prm_qualification_plan`) moves its leads whose
        state changes and runs its actions on them."""
        for rule, _matched, movers in self._prm_qualification_plan():
            if movers:
                self.sudo().with_context(active_test=False).browse(
                    movers
                )._prm_enter_state(rule)

    def _prm_qualification_plan(self, rules=None):
        """What the qualification rules would do to these leads now:
        ``[(rule, matched ids, ids whose state would change)]``, rules in
        order; per rule, one search among the leads no earlier rule took.

        Only open leads (new, nurturing) are considered, never won or lost
        deals, leads sales accepted, or leads of an unverified identity (an
        unsigned website sign-up: they wait until verified).  A rule acts on
        the leads marketing still owns (leads, and opportunities with no
        salesperson in their team's first stage) unless its scope includes
        the sales pipeline, and leaves the leads created before the company's
        first scoring rule set alone unless it opts them in.  ``rules``
        (default: each company's active rules) lets a preview try others."""
        ids = [i for i in self.ids if i]
        Rule = self.env["prm.qualification.rule"].sudo()
        if not ids or (rules is None and not Rule.search_count([], limit=1)):
            return []  # no rule anywhere: nothing to plan (rescoring's hot path)
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
            SELECT COALESCE(l.company_id, %(company)s), array_agg(l.id),
                   array_agg(l.prm_qualification),
                   -- marketing still owns it: a lead, or an opportunity with no
                   -- salesperson still in its team's first stage
                   array_agg(l.type = 'lead' OR (l.user_id IS NULL AND (
                       l.stage_id IS NULL OR l.stage_id = (
                           SELECT s.id FROM crm_stage s
                            WHERE s.team_id IS NULL OR s.team_id = l.team_id
                         ORDER BY s.sequence, s.id LIMIT 1)))),
                   -- created before the company's first scoring rule set
                   array_agg(l.create_date < COALESCE((
                       SELECT min(r.create_date) FROM prm_scoring_ruleset r
                        WHERE r.company_id = COALESCE(l.company_id, %(company)s)),
                       '-infinity'))
              FROM crm_lead l
         LEFT JOIN crm_stage st ON st.id = l.stage_id
             WHERE %(ids)s AND l.active AND l.prm_qualification IN %(open)s
               AND l.prm_identity_verified IS NOT FALSE
               AND NOT COALESCE(st.is_won, false)
          GROUP BY 1
                """,
                company=self.env.company.id,
                ids=ids_condition(SQL("l.id"), ids),
                open=OPEN_STATES,
            )
        )
        Lead = self.sudo().with_context(active_test=False)
        plan = []
        for company_id, lead_ids, states, marketing, existing in self.env.cr.fetchall():
            state_of = dict(zip(lead_ids, states, strict=True))
            owned = dict(zip(lead_ids, marketing, strict=True))
            older = dict(zip(lead_ids, existing, strict=True))
            remaining = set(lead_ids)
            company_rules = (
                rules.filtered(lambda r, c=company_id: r.company_id.id == c)
                if rules is not None
                else Rule._rules_for(self.env["res.company"].browse(company_id))
            )
            for rule in company_rules:
                eligible = {
                    i
                    for i in remaining
                    if (owned[i] or rule.scope == "pipeline")
                    and (not older[i] or rule.include_existing)
                }
                if not eligible:
                    plan.append((rule, [], []))
                    continue
                found = Lead.search(rule._match_domain() + ids_domain(eligible)).ids
                matched = [i for i in found if i in eligible]
                remaining.difference_update(matched)
                movers = [i for i in matched if state_of[i] != rule.state]
                plan.append((rule, matched, movers))
        return plan

    def _prm_log_moves(self, to_state, rule=None, reason=None):
        """Append one qualification move per lead (before the state changes)."""
        self.env["prm.qualification.entry"].sudo().create(
            [
                {
                    "lead_id": lead.id,
                    "rule_id": rule.id if rule else False,
                    "from_state": lead.prm_qualification,
                    "to_state": to_state,
                    "score": lead.prm_score,
                    "grade": lead.prm_grade,
                    "reason": reason,
                    "company_id": (lead.company_id or self.env.company).id,
                }
                for lead in self
            ]
        )

    def _prm_enter_state(self, rule):
        """Move these leads to the rule's state, run its actions, log the move
        and say so in each lead's chatter."""
        self._prm_log_moves(rule.state, rule=rule)
        self.write(
            {"prm_qualification": rule.state, "prm_qualification_rule_id": rule.id}
        )
        for lead in self:
            lead.message_post(
                body=self.env._(
                    "%(state)s by qualification rule “%(rule)s” (score %(score).2f, "
                    "grade %(grade)s).",
                    state=dict(QUALIFICATION)[rule.state],
                    rule=rule.name,
                    score=lead.prm_score or 0.0,
                    grade=lead.prm_grade or "-",
                ),
                subtype_xmlid="mail.mt_note",
            )
        if rule.state == "qualified" and rule.convert:
            for lead in self.filtered(lambda lead: lead.type == "lead"):
                # before the assignment: converting recomputes the team
                lead.convert_opportunity(
                    lead.partner_id, user_ids=False, team_id=rule.team_id.id or False
                )
        if rule.tag_ids:
            self.write({"tag_ids": [fields.Command.link(t.id) for t in rule.tag_ids]})
        assign = {
            key: value
            for key, value in (
                ("team_id", rule.team_id.id),
                ("user_id", rule.user_id.id),
            )
            if value
        }
        if assign:
            self.write(assign)
        if rule.activity_type_id:
            for lead in self:
                lead.activity_schedule(
                    activity_type_id=rule.activity_type_id.id,
                    summary=rule.activity_summary or rule.name,
                    user_id=lead.user_id.id or self.env.uid,
                )
        if rule.state == "eliminated" and rule.lost_reason_id:
            self.action_set_lost(lost_reason_id=rule.lost_reason_id.id)

    def write(self, vals):
        """A lead lost, restored or moved to another contact changes the
        scores of the contacts (and companies) it leaves and joins."""
        if not {"partner_id", "active"} & set(vals):
            return super().write(vals)
        before = self.partner_id
        res = super().write(vals)
        (before | self.partner_id)._prm_aggregate_scores(fields.Datetime.now())
        return res

    def unlink(self):
        """A deleted (or merged) lead no longer counts for its contact."""
        partners = self.partner_id
        res = super().unlink()
        partners.exists()._prm_aggregate_scores(fields.Datetime.now())
        return res

    @api.model
    def _prm_merge_tables(self):
        """The score ledger and qualification moves follow merged leads too
        (moved before the lead that stays is rescored)."""
        return super()._prm_merge_tables() + [
            "prm_score_entry",
            "prm_qualification_entry",
        ]

    def action_prm_accept(self):
        """Sales take a qualified lead."""
        for lead in self:
            if lead.prm_qualification != "qualified":
                raise UserError(self.env._("Only qualified leads can be accepted."))
            lead._prm_log_moves("accepted")
            lead.prm_qualification = "accepted"
            lead.message_post(
                body=self.env._("Accepted by sales."), subtype_xmlid="mail.mt_note"
            )
        return True

    def action_prm_reject(self):
        """Sales refuse a qualified lead: ask why."""
        if any(lead.prm_qualification != "qualified" for lead in self):
            raise UserError(self.env._("Only qualified leads can be rejected."))
        return {
            "type": "ir.actions.act_window",
            "res_model": "prm.qualification.reject",
            "view_mode": "form",
            "target": "new",
            "context": {"default_lead_ids": self.ids},
            "name": self.env._("Reject qualified lead"),
        }
