# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.prm_tracking.models.prm_event import commit_cron_batch

from ..engine import Event, Ruleset, score_lead

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

RESCORE_BATCH = 5000
SCORE_FIELDS = [
    "prm_fit_score",
    "prm_engagement_score",
    "prm_score",
    "prm_grade",
    "prm_score_updated_at",
]
RULES_CHANGED_PARAM = "prm_scoring.rules_changed"


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

    prm_score_explanation = fields.Html(
        string="Why this score",
        compute="_compute_prm_score_explanation",
        sanitize=False,
        groups="prm_tracking.group_prm_user",
    )

    def _compute_prm_score_explanation(self):
        """The rules and events behind the score now, summing to it exactly."""
        for lead in self:
            score = lead.id and lead._prm_score_all().get(lead.id)
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

    def _prm_score_all(self, now=None, rulesets=None):
        """{lead id: engine Score} for these leads, from their events and the
        active rule set of their company (leads without one are skipped).
        ``rulesets``, if given, is filled with {lead id: rule set id}."""
        now = now or fields.Datetime.now()
        leads = self.sudo().with_context(active_test=False).exists()
        results = {}
        Ruleset_ = self.env["prm.scoring.ruleset"].sudo()
        for company in leads.company_id | self.env.company:
            group = leads.filtered(
                lambda lead, company=company: (lead.company_id or self.env.company)
                == company
            )
            ruleset = Ruleset_._get_active(company)
            if not group or not ruleset:
                continue
            rules = ruleset.rule_ids.filtered("active")
            fit_rules = rules.filtered(lambda r: r.kind == "fit")
            engagement = [r._to_engine() for r in rules - fit_rules]
            matches = {lead_id: [] for lead_id in group.ids}
            for rule in fit_rules:
                matched = group.search(rule._fit_domain() + [("id", "in", group.ids)])
                for lead_id in matched.ids:
                    matches[lead_id].append(rule._to_engine())
            events = group._prm_scoring_events()
            settings = Ruleset(
                fit_weight=ruleset.fit_weight,
                engagement_weight=ruleset.engagement_weight,
                fit_cap=ruleset.fit_cap,
                engagement_cap=ruleset.engagement_cap,
            )
            for lead_id in group.ids:
                if rulesets is not None:
                    rulesets[lead_id] = (ruleset.id, company.id)
                results[lead_id] = score_lead(
                    matches[lead_id], events.get(lead_id, []), engagement, settings, now
                )
        return results

    def _prm_scoring_events(self):
        """{lead id: [engine Event]} in one query."""
        self.env["prm.event"].flush_model()
        self.env.cr.execute(
            SQL(
                """
            SELECT e.lead_id, e.id, t.code, e.occurred_at, COALESCE(e.url, ''),
                   COALESCE(s.name, ''), COALESCE(m.name, ''), COALESCE(c.name, ''),
                   e.payload -> 'properties', COALESCE(e.is_bot, false)
              FROM prm_event e
              JOIN prm_event_type t ON t.id = e.event_type_id
         LEFT JOIN utm_source s ON s.id = e.source_id
         LEFT JOIN utm_medium m ON m.id = e.medium_id
         LEFT JOIN utm_campaign c ON c.id = e.campaign_id
             WHERE e.lead_id = ANY(%s)
                """,
                self.ids,
            )
        )
        events = {}
        for row in self.env.cr.fetchall():
            events.setdefault(row[0], []).append(
                Event(
                    id=row[1],
                    type=row[2],
                    occurred_at=row[3],
                    url=row[4],
                    source=row[5],
                    medium=row[6],
                    campaign=row[7],
                    properties=row[8] or {},
                    is_bot=row[9],
                )
            )
        return events

    def _prm_rescore(self, now=None, reason="recompute"):
        """Score these leads, store the result and append the ledger entries
        of changes of at least one point: one statement."""
        now = now or fields.Datetime.now()
        rulesets = {}
        scores = self._prm_score_all(now=now, rulesets=rulesets)
        if not scores:
            return scores
        values = SQL(", ").join(
            SQL(
                "(%s, %s::numeric, %s::numeric, %s::numeric, %s, %s::int, %s::int)",
                lead_id,
                s.fit,
                s.engagement,
                s.total,
                s.grade,
                *rulesets[lead_id],
            )
            for lead_id, s in sorted(scores.items())
        )
        uid = self.env.uid
        self.env.cr.execute(
            SQL(
                """
            WITH v(id, fit, eng, total, grade, ruleset, company) AS (VALUES %(values)s),
            last AS (
                SELECT DISTINCT ON (e.lead_id) e.lead_id, e.new_score
                  FROM prm_score_entry e
                 WHERE e.lead_id IN (SELECT id FROM v)
              ORDER BY e.lead_id, e.id DESC
            ),
            upd AS (
                UPDATE crm_lead l
                   SET prm_fit_score = v.fit, prm_engagement_score = v.eng,
                       prm_score = v.total, prm_grade = v.grade,
                       prm_score_updated_at = %(now)s
                  FROM v
                 WHERE l.id = v.id
             RETURNING l.id
            )
            INSERT INTO prm_score_entry (lead_id, ruleset_id, company_id, computed_at,
                old_score, new_score, delta, reason, create_uid, write_uid,
                create_date, write_date)
            SELECT v.id, v.ruleset, v.company, %(now)s, COALESCE(last.new_score, 0),
                   v.total, v.total - COALESCE(last.new_score, 0), %(reason)s,
                   %(uid)s, %(uid)s, %(now)s, %(now)s
              FROM v LEFT JOIN last ON last.lead_id = v.id
             WHERE abs(v.total - COALESCE(last.new_score, 0)) >= 1
                """,
                values=values,
                now=now,
                reason=reason,
                uid=uid,
            )
        )
        self.env["prm.score.entry"].invalidate_model()
        self.invalidate_model(SCORE_FIELDS)
        self.env.cr.execute(
            SQL(
                "SELECT DISTINCT partner_id FROM crm_lead "
                "WHERE id = ANY(%s) AND partner_id IS NOT NULL",
                list(scores),
            )
        )
        partner_ids = [row[0] for row in self.env.cr.fetchall()]
        self.env["res.partner"].browse(partner_ids)._prm_aggregate_scores(now)
        self.browse(list(scores))._prm_qualify()
        return scores

    @api.model
    def _cron_prm_rescore_all(self, batch_size=RESCORE_BATCH, now=None):
        """Full recompute (daily, for decay; and after rule changes), batched."""
        now = now or fields.Datetime.now()
        params = self.env["ir.config_parameter"].sudo()
        reason = "rule_change" if params.get_param(RULES_CHANGED_PARAM) else "decay"
        params.set_param(RULES_CHANGED_PARAM, False)
        last_id, done = 0, 0
        while True:
            self.env.cr.execute(
                SQL(
                    "SELECT id FROM crm_lead WHERE id > %s ORDER BY id LIMIT %s",
                    last_id,
                    batch_size,
                )
            )
            ids = [row[0] for row in self.env.cr.fetchall()]
            if not ids:
                break
            self.browse(ids)._prm_rescore(now=now, reason=reason)
            done += len(ids)
            last_id = ids[-1]
            commit_cron_batch(self.env)
        self.env["ir.cron"]._notify_progress(done=done, remaining=0)
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

    def _prm_qualify(self):
        """Apply the company's qualification rules to open leads (new, nurturing)."""
        leads = self.sudo().filtered(
            lambda lead: lead.prm_qualification in OPEN_STATES and lead.active
        )
        Rule = self.env["prm.qualification.rule"].sudo()
        for company in leads.company_id | self.env.company:
            group = leads.filtered(
                lambda lead, company=company: (lead.company_id or self.env.company)
                == company
            )
            rules = Rule._rules_for(company) if group else Rule
            for lead in group:
                rule = next((r for r in rules if r._matches(lead)), None)
                if rule and rule.state != lead.prm_qualification:
                    lead._prm_enter_state(rule)

    def _prm_enter_state(self, rule):
        """Move to the rule's state, run its actions, and say so in the chatter."""
        self.ensure_one()
        self.write(
            {"prm_qualification": rule.state, "prm_qualification_rule_id": rule.id}
        )
        self.message_post(
            body=self.env._(
                "%(state)s by qualification rule “%(rule)s” (score %(score).2f, "
                "grade %(grade)s).",
                state=dict(QUALIFICATION)[rule.state],
                rule=rule.name,
                score=self.prm_score or 0.0,
                grade=self.prm_grade or "-",
            ),
            subtype_xmlid="mail.mt_note",
        )
        if rule.state == "qualified" and rule.convert and self.type == "lead":
            # before the assignment: converting recomputes the team
            self.convert_opportunity(
                self.partner_id, user_ids=False, team_id=rule.team_id.id or False
            )
        if rule.tag_ids:
            self.tag_ids = [fields.Command.link(tag.id) for tag in rule.tag_ids]
        if rule.team_id or rule.user_id:
            self.write(
                {
                    key: value
                    for key, value in (
                        ("team_id", rule.team_id.id),
                        ("user_id", rule.user_id.id),
                    )
                    if value
                }
            )
        if rule.activity_type_id:
            self.activity_schedule(
                activity_type_id=rule.activity_type_id.id,
                summary=rule.activity_summary or rule.name,
                user_id=self.user_id.id or self.env.uid,
            )
        if rule.state == "eliminated" and rule.lost_reason_id:
            self.action_set_lost(lost_reason_id=rule.lost_reason_id.id)

    def action_prm_accept(self):
        """Sales take a qualified lead."""
        for lead in self:
            if lead.prm_qualification != "qualified":
                raise UserError(self.env._("Only qualified leads can be accepted."))
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
