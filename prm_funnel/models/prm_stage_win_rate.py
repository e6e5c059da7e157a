# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.tools import SQL

from ..engine import base_win_rate, stage_win_rate

FALLBACK_RATE = 50.0  # % with no history at all (Laplace's rule on nothing)


class PrmStageWinRate(models.Model):
    """P(won | the lead was in this stage), learnt from the database's own
    closed leads, per company, per team and for all teams together.

    While history is thin a team's rate leans on the company's rate for the
    stage, and that one on the company's overall win rate (shrinkage with 10
    pseudo-leads, see ``engine.funnel.stage_win_rate``); a won stage is 100 %.
    """

    _name = "prm.stage.win.rate"
    _description = "PRM Stage Win Rate"
    _order = "company_id, team_id, stage_id"

    company_id = fields.Many2one("res.company", required=True, index=True)
    team_id = fields.Many2one(
        "crm.team", string="Sales Team", ondelete="cascade", help="Empty: all teams."
    )
    stage_id = fields.Many2one(
        "crm.stage", ondelete="cascade", help="Empty: the company's overall win rate."
    )
    closed = fields.Integer(
        string="Closed leads", help="Won or lost leads that were in this stage."
    )
    won = fields.Integer(string="Won leads")
    observed_rate = fields.Float(string="Observed (%)", digits=(5, 2))
    rate = fields.Float(string="Win rate (%)", digits=(5, 2))

    @api.model
    def _prm_refresh(self):
        """Learn every company's rates again, then revalue the history."""
        self.env["prm.stage.history"].flush_model()
        self.env["crm.lead"].flush_model(["active", "probability"])
        self.env.cr.execute(
            SQL(
                """
            WITH outcome AS (
                SELECT id, CASE WHEN active AND probability = 100 THEN 1
                                WHEN NOT active AND probability = 0 THEN 0 END AS won
                  FROM crm_lead
            ),
            reached AS (
                SELECT DISTINCT h.lead_ref, h.company_id, h.team_id, h.stage_id, o.won
                  FROM prm_stage_history h
                  JOIN crm_stage s
                    ON s.id = h.stage_id AND NOT COALESCE(s.is_won, false)
                  JOIN outcome o ON o.id = h.lead_id
                 WHERE o.won IS NOT NULL
            )
            SELECT company_id, team_id, stage_id, GROUPING(team_id), count(*),
                   sum(won)
              FROM reached
          GROUP BY GROUPING SETS ((company_id, team_id, stage_id),
                                  (company_id, stage_id))
                """
            )
        )
        by_team, by_stage = {}, {}
        for company, team, stage, all_teams, closed, won in self.env.cr.fetchall():
            if all_teams:
                by_stage[(company, None, stage)] = (closed, won)
            elif team:  # stays without a team count in "all teams" only
                by_team[(company, team, stage)] = (closed, won)
        # overall win rate per company, over closed leads with a history
        self.env.cr.execute(
            SQL(
                """
            SELECT h.company_id, count(DISTINCT h.lead_ref),
                   count(DISTINCT h.lead_ref)
                       FILTER (WHERE l.active AND l.probability = 100)
              FROM prm_stage_history h JOIN crm_lead l ON l.id = h.lead_id
             WHERE (l.active AND l.probability = 100)
                OR (NOT l.active AND l.probability = 0)
          GROUP BY h.company_id
                """
            )
        )
        overall = {
            company: (closed, won) for company, closed, won in self.env.cr.fetchall()
        }
        rows = []
        for company, (closed, won) in overall.items():
            base = base_win_rate(won, closed)
            rows.append((company, None, None, closed, won, base))
        for (company, _none, stage), (closed, won) in by_stage.items():
            company_closed, company_won = overall.get(company, (0, 0))
            prior = base_win_rate(company_won, company_closed)
            rows.append(
                (company, None, stage, closed, won, stage_win_rate(won, closed, prior))
            )
        stage_rate = {(r[0], r[2]): r[5] for r in rows if r[2]}
        for (company, team, stage), (closed, won) in by_team.items():
            prior = stage_rate.get((company, stage), FALLBACK_RATE / 100.0)
            rows.append(
                (company, team, stage, closed, won, stage_win_rate(won, closed, prior))
            )
        self.env.cr.execute(SQL("DELETE FROM prm_stage_win_rate"))
        self.invalidate_model()
        self.create(
            [
                {
                    "company_id": company,
                    "team_id": team,
                    "stage_id": stage,
                    "closed": closed,
                    "won": won,
                    "observed_rate": 100.0 * won / closed if closed else 0.0,
                    "rate": round(100.0 * rate, 2),
                }
                for company, team, stage, closed, won, rate in rows
            ]
        )
        self.env["prm.stage.history"]._prm_revalue()

    def action_refresh(self):
        """Learn the rates again now (managers)."""
        self.check_access("create")
        self.sudo()._prm_refresh()
        return {"type": "ir.actions.client", "tag": "reload"}

    @api.model
    def _prm_lookup(self, company_ids):
        """A function (company, team, stage) -> win rate in %: the team's
        rate, else the company's for the stage, else the company's overall
        rate, else 50 %; 100 % for a won stage."""
        won = set(self.env["crm.stage"].search([("is_won", "=", True)]).ids)
        rates = {
            (r.company_id.id, r.team_id.id or None, r.stage_id.id or None): r.rate
            for r in self.sudo().search([("company_id", "in", list(company_ids))])
        }

        def lookup(company, team, stage):
            if stage in won:
                return 100.0
            keys = (
                (company, team, stage),
                (company, None, stage),
                (company, None, None),
            )
            for key in keys:
                if key in rates:
                    return rates[key]
            return FALLBACK_RATE

        return lookup
