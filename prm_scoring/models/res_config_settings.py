# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

DEFAULT_HALF_LIFE = 30.0


class ResConfigSettings(models.TransientModel):
    """Scoring settings: the weights and horizon of the company's active rule
    set, and the defaults of new engagement rules."""

    _inherit = "res.config.settings"

    prm_ruleset_id = fields.Many2one(
        "prm.scoring.ruleset",
        string="Active scoring rule set",
        compute="_compute_prm_ruleset",
        readonly=True,
    )
    prm_fit_weight = fields.Float(
        string="Fit weight (%)",
        compute="_compute_prm_ruleset",
        inverse="_inverse_prm_ruleset",
        readonly=False,
    )
    prm_engagement_weight = fields.Float(
        string="Engagement weight (%)",
        compute="_compute_prm_ruleset",
        inverse="_inverse_prm_ruleset",
        readonly=False,
    )
    prm_horizon_days = fields.Integer(
        string="Conversion horizon (days)",
        compute="_compute_prm_ruleset",
        inverse="_inverse_prm_ruleset",
        readonly=False,
    )
    prm_default_half_life = fields.Float(
        string="Default half-life of new engagement rules (days)",
        config_parameter="prm_scoring.default_half_life",
        default=DEFAULT_HALF_LIFE,
    )

    @api.depends("company_id")
    def _compute_prm_ruleset(self):
        for settings in self:
            ruleset = self.env["prm.scoring.ruleset"]._get_active(settings.company_id)
            settings.prm_ruleset_id = ruleset
            settings.prm_fit_weight = ruleset.fit_weight if ruleset else 50.0
            settings.prm_engagement_weight = (
                ruleset.engagement_weight if ruleset else 50.0
            )
            settings.prm_horizon_days = ruleset.horizon_days if ruleset else 30

    @api.onchange("prm_fit_weight")
    def _onchange_prm_fit_weight(self):
        """The two weights add up to 100."""
        self.prm_engagement_weight = 100.0 - (self.prm_fit_weight or 0.0)

    def _inverse_prm_ruleset(self):
        """Write changed weights or horizon to the active rule set (without
        one, the fields are hidden and there is nothing to write)."""
        for settings in self:
            ruleset = self.env["prm.scoring.ruleset"]._get_active(settings.company_id)
            vals = {
                "fit_weight": settings.prm_fit_weight,
                "engagement_weight": settings.prm_engagement_weight,
                "horizon_days": settings.prm_horizon_days,
            }
            changed = {k: v for k, v in vals.items() if ruleset and ruleset[k] != v}
            if changed:
                ruleset.write(changed)
