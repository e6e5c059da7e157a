# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..engine import INCIDENCE_BAND, incidence, prorate


class PrmCostIncidence(models.TransientModel):
    """Acquisition-cost incidence of a year, the users' way: new revenue =
    this year's revenue - last year's; incidence = (marketing + sales costs)
    / new revenue, usually between 5 and 25 %."""

    _name = "prm.cost.incidence"
    _description = "PRM Acquisition-Cost Incidence"

    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        domain=lambda self: [("id", "in", self.env.companies.ids)],
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    year = fields.Integer(
        required=True, default=lambda self: fields.Date.context_today(self).year
    )
    revenue_basis = fields.Selection(
        [("won", "Won opportunities (expected revenue)")],
        string="Revenue from",
        required=True,
        default="won",
    )
    revenue = fields.Monetary(
        string="Revenue of the year", compute="_compute_incidence"
    )
    previous_revenue = fields.Monetary(
        string="Revenue of the year before", compute="_compute_incidence"
    )
    new_revenue = fields.Monetary(compute="_compute_incidence")
    marketing_cost = fields.Monetary(
        string="Marketing costs", compute="_compute_incidence"
    )
    sales_cost = fields.Monetary(string="Sales costs", compute="_compute_incidence")
    costs = fields.Monetary(string="Acquisition costs", compute="_compute_incidence")
    incidence = fields.Float(string="Incidence (%)", compute="_compute_incidence")
    has_incidence = fields.Boolean(compute="_compute_incidence")
    band = fields.Selection(
        [
            ("below", "Below the usual 5-25 %"),
            ("within", "Within the usual 5-25 %"),
            ("above", "Above the usual 5-25 %"),
        ],
        compute="_compute_incidence",
    )
    band_low = fields.Float(default=100 * INCIDENCE_BAND[0], readonly=True)
    band_high = fields.Float(default=100 * INCIDENCE_BAND[1], readonly=True)

    @api.depends("company_id", "year", "revenue_basis")
    def _compute_incidence(self):
        for wizard in self:
            if wizard.company_id not in self.env.companies:
                raise AccessError(
                    self.env._(
                        "You cannot see the figures of %s.", wizard.company_id.name
                    )
                )
            start, end = date(wizard.year, 1, 1), date(wizard.year, 12, 31)
            revenue = wizard._prm_revenue(start, end)
            previous = wizard._prm_revenue(
                date(wizard.year - 1, 1, 1), date(wizard.year - 1, 12, 31)
            )
            marketing, sales = wizard._prm_costs(start, end)
            out = incidence(revenue, previous, marketing, sales)
            wizard.revenue = revenue
            wizard.previous_revenue = previous
            wizard.new_revenue = out["new_revenue"]
            wizard.marketing_cost = marketing
            wizard.sales_cost = sales
            wizard.costs = out["costs"]
            wizard.has_incidence = out["incidence"] is not None
            wizard.incidence = 100 * (out["incidence"] or 0.0)
            wizard.band = out["band"]

    def _prm_revenue(self, date_from, date_to):
        """Revenue of the company between two dates (inclusive), by the
        chosen basis; bridges add bases (posted invoices with Invoicing)."""
        self.ensure_one()
        if self.revenue_basis != "won":
            return 0.0
        self.env["crm.lead"].flush_model()
        self.env.cr.execute(
            SQL(
                """
            SELECT COALESCE(sum(expected_revenue), 0) FROM crm_lead
             WHERE active AND probability = 100
               AND COALESCE(company_id, %s) = %s
               AND date_closed >= %s AND date_closed < %s::date + 1
                """,
                self.company_id.id,
                self.company_id.id,
                date_from,
                date_to,
            )
        )
        return float(self.env.cr.fetchone()[0])

    def _prm_costs(self, date_from, date_to):
        """(marketing, sales) costs of the period, company currency."""
        costs = {"marketing": 0.0, "sales": 0.0}
        for cost in self.env["prm.acquisition.cost"].search(
            [
                ("company_id", "=", self.company_id.id),
                ("date_from", "<=", date_to),
                ("date_to", ">=", date_from),
            ]
        ):
            costs[cost.kind] += prorate(
                cost.amount_company, cost.date_from, cost.date_to, date_from, date_to
            )
        return costs["marketing"], costs["sales"]
