# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models
from odoo.tools import SQL

from .prm_stage_history import EXIT_KINDS


class PrmFunnelReport(models.Model):
    """The funnel, one row per stay of a lead in a stage: counts of entries
    and exits, and rates as averages of 0/100 flags (so that any grouping of
    the pivot gives the right share)."""

    _name = "prm.funnel.report"
    _description = "PRM Funnel Analysis"
    _auto = False
    _order = "date_enter desc"
    _rec_name = "stage_id"
    # "won now" is stored on the stays by a trigger on the lead's flush
    _depends = {
        "prm.stage.history": [
            "lead_id", "stage_id", "previous_stage_id", "exit_kind", "date_enter",
            "date_exit", "lead_create_date", "user_id", "team_id", "source_id",
            "medium_id", "campaign_id", "company_id", "duration_days",
        ],
        "crm.lead": ["active", "probability"],
    }  # fmt: skip

    lead_id = fields.Many2one("crm.lead", readonly=True)
    stage_id = fields.Many2one("crm.stage", readonly=True)
    previous_stage_id = fields.Many2one("crm.stage", readonly=True)
    exit_kind = fields.Selection(EXIT_KINDS, string="Exit", readonly=True)
    date_enter = fields.Datetime(string="Entered on", readonly=True)
    date_exit = fields.Datetime(string="Left on", readonly=True)
    lead_create_date = fields.Datetime(string="Lead created on", readonly=True)
    user_id = fields.Many2one("res.users", string="Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", string="Sales Team", readonly=True)
    source_id = fields.Many2one("utm.source", readonly=True)
    medium_id = fields.Many2one("utm.medium", readonly=True)
    campaign_id = fields.Many2one("utm.campaign", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    entered = fields.Integer(readonly=True, help="Stays that began in the stage.")
    advanced = fields.Integer(readonly=True)
    regressed = fields.Integer(readonly=True)
    won = fields.Integer(readonly=True, help="Stays ended by winning the lead.")
    lost = fields.Integer(readonly=True, help="Stays ended by losing the lead.")
    still_open = fields.Integer(string="Still there", readonly=True)
    duration_days = fields.Float(
        string="Days in stage (mean)",
        readonly=True,
        aggregator="avg",
        digits=(16, 1),
        help="Mean time in the stage of the stays that ended.",
    )
    advance_rate = fields.Float(
        string="Conversion to next stage (%)",
        readonly=True,
        aggregator="avg",
        digits=(5, 1),
        help="Share of stays that moved further down the pipeline (or won).",
    )
    won_rate = fields.Float(
        string="Conversion to won (%)",
        readonly=True,
        aggregator="avg",
        digits=(5, 1),
        help="Share of stays whose lead is won now.",
    )
    drop_rate = fields.Float(
        string="Drop-off (%)",
        readonly=True,
        aggregator="avg",
        digits=(5, 1),
        help="Share of stays that ended with the lead lost.",
    )

    @property
    def _table_query(self):
        return SQL(
            """
            SELECT h.id, h.lead_id, h.stage_id, h.previous_stage_id, h.exit_kind,
                   h.date_enter, h.date_exit, h.lead_create_date, h.user_id,
                   h.team_id, h.source_id, h.medium_id, h.campaign_id, h.company_id,
                   1 AS entered,
                   (h.exit_kind = 'advanced')::int AS advanced,
                   (h.exit_kind = 'regressed')::int AS regressed,
                   (h.exit_kind = 'won')::int AS won,
                   (h.exit_kind = 'lost')::int AS lost,
                   (h.exit_kind = 'open')::int AS still_open,
                   h.duration_days,
                   CASE WHEN h.exit_kind IN ('advanced', 'won') THEN 100.0
                        ELSE 0.0 END AS advance_rate,
                   CASE WHEN h.lead_won THEN 100.0 ELSE 0.0 END AS won_rate,
                   CASE WHEN h.exit_kind = 'lost' THEN 100.0 ELSE 0.0 END AS drop_rate
              FROM prm_stage_history h
              JOIN crm_stage s ON s.id = h.stage_id
             WHERE NOT COALESCE(s.is_won, false)
            """
        )
