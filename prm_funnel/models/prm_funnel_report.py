# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import cohort_rollup, pipeline_rollup, stay_rollup
from ..tools.stay_rollup import stay_measures
from .prm_stage_history import EXIT_KINDS

# the figures summed per stay (field: rollup measure, tools/stay_rollup.py)
MEASURES = {
    "entered": "stays",
    "advanced": "advanced",
    "regressed": "regressed",
    "won": "won",
    "lost": "lost",
    "still_open": "still_open",
    "advance_rate": "advance_rate",
    "won_rate": "won_rate",
    "drop_rate": "drop_rate",
}
WON_STAGES_OUT = "NOT COALESCE(s.is_won, false)"


class PrmFunnelReport(models.Model):
    """The funnel, one row per stay of a lead in a stage: counts of entries
    and exits, and rates as averages of 0/100 flags (so that any grouping of
    the pivot gives the right share)."""

    _name = "prm.funnel.report"
    _inherit = ["prm.stays.report.mixin"]
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
            "lead_user_id", "lead_unassigned",
        ],
        "crm.lead": ["active", "probability", "user_id"],
    }  # fmt: skip

    lead_id = fields.Many2one("crm.lead", readonly=True)
    stage_id = fields.Many2one("crm.stage", readonly=True)
    previous_stage_id = fields.Many2one("crm.stage", readonly=True)
    exit_kind = fields.Selection(EXIT_KINDS, string="Exit", readonly=True)
    date_enter = fields.Datetime(string="Entered on", readonly=True)
    date_exit = fields.Datetime(string="Left on", readonly=True)
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

    _prm_rollup_dims = (
        "stage_id", "previous_stage_id", "exit_kind", "user_id", "lead_user_id",
        "lead_unassigned", "team_id", "source_id", "medium_id", "campaign_id",
        "company_id",
    )  # fmt: skip
    # the mean days in stage is over the ended stays (the others count none)
    _prm_rollup_measures = dict(MEASURES, duration_days="duration_days")

    def _prm_stays_query(self):
        return SQL(
            f"""
            SELECT h.id, h.lead_id, h.stage_id, h.previous_stage_id, h.exit_kind,
                   h.date_enter, h.date_exit, h.lead_create_date, h.user_id,
                   h.lead_user_id, h.lead_unassigned, h.team_id, h.source_id,
                   h.medium_id, h.campaign_id, h.company_id,
                   {stay_measures("h", MEASURES)}, h.duration_days
              FROM prm_stage_history h
              JOIN crm_stage s ON s.id = h.stage_id
             WHERE {WON_STAGES_OUT}
            """
        )

    def _prm_rollup_from(self):
        return (
            f"{super()._prm_rollup_from()} JOIN crm_stage s ON s.id = r.stage_id "
            f"WHERE {WON_STAGES_OUT}"
        )

    # the sums per combination both stay reports answer their pivots from
    # (tools/stay_rollup.py), and the funnel analysis's per cohort
    # (tools/cohort_rollup.py) and per lead (tools/pipeline_rollup.py), kept
    # here: the funnel is their first report
    _prm_rollups = (
        (stay_rollup.STAYS, stay_rollup.create_sql, stay_rollup.REBUILD),
        (cohort_rollup.COHORTS, cohort_rollup.create_sql, cohort_rollup.REBUILD),
        (pipeline_rollup.PIPELINE, pipeline_rollup.create_sql, pipeline_rollup.REBUILD),
    )

    def init(self):
        for rollup, create_sql, rebuild in self._prm_rollups:
            if rollup.ensure(self.env.cr, create_sql()):
                self._prm_rebuild_stays(rollup, rebuild)

    @api.model
    def _prm_fold_stays(self):
        """Add the pending changes to the sums (the job, every few minutes);
        whether every fold ran."""
        self.env.flush_all()
        return all(
            [rollup.run_fold(self.env.cr) for rollup, _c, _r in self._prm_rollups]
        )

    @api.model
    def _prm_rebuild_stays(self, *only):
        """Sum every stay again (daily, after the history is revalued; after
        loading stays with the triggers off): every rollup, or `only` the
        one given as (rollup, rebuild statement); whether every one ran."""
        pairs = [only] if only else [(r, stmt) for r, _c, stmt in self._prm_rollups]
        return all(
            [
                rollup.run_rebuild(
                    self.env, statement, "prm_funnel.ir_cron_prm_stay_rebuild"
                )
                for rollup, statement in pairs
            ]
        )
