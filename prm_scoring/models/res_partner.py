# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models
from odoo.tools import SQL

from .crm_lead import GRADES, SCORE_FIELDS, has_probability


class ResPartner(models.Model):
    _inherit = "res.partner"

    prm_fit_score = fields.Float(string="Fit Score", readonly=True, digits=(5, 2))
    prm_engagement_score = fields.Float(
        string="Engagement Score", readonly=True, digits=(5, 2)
    )
    prm_score = fields.Float(
        string="Score",
        readonly=True,
        digits=(5, 2),
        help="Best score of the contact's leads (for a company: of its contacts' "
        "leads too).",
    )
    prm_grade = fields.Selection(GRADES, string="Grade", readonly=True)
    prm_score_updated_at = fields.Datetime(string="Score Updated On", readonly=True)
    prm_conversion_probability = fields.Float(
        string="Conversion Probability (%)",
        readonly=True,
        digits=(5, 2),
        help="That of the best-scored lead.",
    )
    prm_has_probability = fields.Boolean(compute="_compute_prm_has_probability")

    def _compute_prm_has_probability(self):
        has_probability(self)

    def _prm_aggregate_scores(self, now):
        """Partner scores = those of their best-scored lead that is not lost
        (set-based); for a company, over its own leads and its contacts'
        leads.  A partner left with no such lead has no score any more."""
        ids = sorted(set(self.ids) | set(self.commercial_partner_id.ids))
        if not ids:
            return
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
            UPDATE res_partner p
               SET prm_fit_score = b.fit, prm_engagement_score = b.eng,
                   prm_score = b.total, prm_grade = b.grade,
                   prm_conversion_probability = b.prob,
                   prm_score_updated_at = %(now)s
              FROM unnest(%(ids)s::int[]) AS t(id)
         LEFT JOIN LATERAL (
                SELECT l.prm_fit_score AS fit, l.prm_engagement_score AS eng,
                       l.prm_score AS total, l.prm_grade AS grade,
                       l.prm_conversion_probability AS prob
                  FROM res_partner c
                  JOIN crm_lead l ON l.partner_id = c.id AND l.active
                 WHERE (c.id = t.id OR c.commercial_partner_id = t.id)
                   AND l.prm_score IS NOT NULL
              ORDER BY l.prm_score DESC, l.id DESC
                 LIMIT 1
              ) AS b ON true
             WHERE p.id = t.id
               AND (p.prm_fit_score, p.prm_engagement_score, p.prm_score,
                    p.prm_grade, p.prm_conversion_probability)
                   IS DISTINCT FROM (b.fit, b.eng, b.total, b.grade, b.prob)
                """,
                now=now,
                ids=ids,
            )
        )
        self.invalidate_model(SCORE_FIELDS)
