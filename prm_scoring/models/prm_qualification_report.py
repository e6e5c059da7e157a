# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models
from odoo.tools import SQL

from .crm_lead import QUALIFICATION


class PrmQualificationReport(models.Model):
    """One row per decision of a qualification rule, with what became of the
    lead afterwards: won later, and for eliminated or nurtured leads, a false
    negative when they were won anyway."""

    _name = "prm.qualification.report"
    _description = "PRM Qualification Report"
    _auto = False
    _order = "date desc"
    _rec_name = "lead_id"

    rule_id = fields.Many2one("prm.qualification.rule", readonly=True)
    lead_id = fields.Many2one("crm.lead", readonly=True)
    to_state = fields.Selection(QUALIFICATION, string="Sent to", readonly=True)
    date = fields.Datetime(readonly=True)
    score = fields.Float(readonly=True, aggregator="avg", digits=(5, 2))
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    source_id = fields.Many2one("utm.source", readonly=True)
    medium_id = fields.Many2one("utm.medium", readonly=True)
    campaign_id = fields.Many2one("utm.campaign", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    decisions = fields.Integer(readonly=True)
    later_won = fields.Integer(
        string="Won later", readonly=True, help="The lead was won after this decision."
    )
    false_negative = fields.Integer(
        string="False negatives",
        readonly=True,
        help="Eliminated or nurtured by this rule, and won anyway afterwards.",
    )
    won_revenue = fields.Monetary(
        string="Won revenue later", readonly=True, currency_field="currency_id"
    )
    currency_id = fields.Many2one(related="company_id.currency_id", readonly=True)

    @property
    def _table_query(self):
        return SQL(
            """
            SELECT q.id, q.rule_id, q.lead_id, q.to_state, q.date, q.score,
                   l.user_id, l.team_id, l.source_id, l.medium_id, l.campaign_id,
                   COALESCE(q.company_id, l.company_id) AS company_id,
                   1 AS decisions, w.won AS later_won,
                   CASE WHEN q.to_state IN ('eliminated', 'nurturing')
                        THEN w.won ELSE 0 END AS false_negative,
                   CASE WHEN w.won = 1 THEN l.expected_revenue ELSE 0 END
                        AS won_revenue
              FROM prm_qualification_entry q
              JOIN crm_lead l ON l.id = q.lead_id
        CROSS JOIN LATERAL (
                SELECT CASE WHEN l.active AND l.probability = 100
                             AND COALESCE(l.date_closed, l.write_date) >= q.date
                            THEN 1 ELSE 0 END AS won
              ) w
             WHERE q.rule_id IS NOT NULL
            """
        )
