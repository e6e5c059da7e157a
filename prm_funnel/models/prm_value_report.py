# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models
from odoo.tools import SQL

from ..tools.stay_rollup import stay_measure, stay_measures

# the figures summed per stay (field: rollup measure, tools/stay_rollup.py)
MEASURES = {
    "leads": "leads",
    "initial_value": "initial_value",
    "value_added": "value_added",
    "value_lost": "value_lost",
    "net_value": "net_value",
}


class PrmValueReport(models.Model):
    """Valued progression: what each source, medium and campaign brought in
    at creation (initial value), added or lost by stage moves, and won.

    Values are expected revenue x P(won | stage) (see the stage win rates),
    so a move from a 20 % stage to a 50 % stage of a 10,000 deal adds 3,000."""

    _name = "prm.value.report"
    _inherit = ["prm.stays.report.mixin"]
    _description = "PRM Valued Progression"
    _auto = False
    _order = "date_enter desc"
    _rec_name = "lead_id"
    # the lead's salesperson now is stored on the stays by a trigger on the
    # lead's flush (the salesperson rule reads it)
    _depends = {
        "prm.stage.history": [
            "lead_id", "stage_id", "date_enter", "lead_create_date", "user_id",
            "lead_user_id", "lead_unassigned", "team_id", "source_id", "medium_id",
            "campaign_id", "company_id", "is_initial", "value", "value_delta",
            "exit_kind", "expected_revenue",
        ],
        "crm.lead": ["user_id"],
    }  # fmt: skip

    lead_id = fields.Many2one("crm.lead", readonly=True)
    stage_id = fields.Many2one("crm.stage", readonly=True)
    date_enter = fields.Datetime(string="Date", readonly=True)
    lead_create_date = fields.Datetime(string="Lead created on", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    lead_user_id = fields.Many2one(
        "res.users", string="Lead's salesperson now", readonly=True
    )
    lead_unassigned = fields.Boolean(string="Lead unassigned now", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    source_id = fields.Many2one("utm.source", readonly=True)
    medium_id = fields.Many2one("utm.medium", readonly=True)
    campaign_id = fields.Many2one("utm.campaign", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id", readonly=True)
    leads = fields.Integer(readonly=True, help="Leads created (first stays).")
    initial_value = fields.Monetary(
        readonly=True, help="Value at creation: expected revenue x P(won | stage)."
    )
    value_added = fields.Monetary(
        string="Added by progressions", readonly=True, help="Rises of value."
    )
    value_lost = fields.Monetary(
        readonly=True, help="Falls of value, and the value of stays lost."
    )
    net_value = fields.Monetary(
        string="Net value created",
        readonly=True,
        help="Initial value + added - lost: the value the pipeline holds now.",
    )
    won_revenue = fields.Monetary(
        readonly=True, help="Expected revenue of the leads won (and still won)."
    )

    _prm_rollup_dims = (
        "stage_id", "user_id", "lead_user_id", "lead_unassigned", "team_id",
        "source_id", "medium_id", "campaign_id", "company_id",
    )  # fmt: skip
    _prm_rollup_measures = dict(MEASURES, won_revenue="open_revenue")

    @staticmethod
    def _won_revenue(open_revenue):
        # the revenue of the leads open in a won stage: won, and still won
        return f"CASE WHEN s.is_won THEN {open_revenue} ELSE 0 END"

    def _prm_stays_query(self):
        return SQL(
            f"""
            SELECT h.id, h.lead_id, h.stage_id, h.date_enter, h.lead_create_date,
                   h.user_id, h.lead_user_id, h.lead_unassigned, h.team_id,
                   h.source_id, h.medium_id, h.campaign_id, h.company_id,
                   {stay_measures("h", MEASURES)},
                   {self._won_revenue(stay_measure("h", "open_revenue"))}
                   AS won_revenue
              FROM prm_stage_history h
              JOIN crm_stage s ON s.id = h.stage_id
            """
        )

    def _prm_rollup_from(self):
        return f"{super()._prm_rollup_from()} JOIN crm_stage s ON s.id = r.stage_id"

    def _prm_rollup_column(self, measure):
        column = super()._prm_rollup_column(measure)
        return self._won_revenue(column) if measure == "open_revenue" else column
