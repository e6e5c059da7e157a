# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL, format_date


class PrmAcquisitionCost(models.Model):
    """Money spent to acquire prospects over a period, per UTM source/campaign."""

    _name = "prm.acquisition.cost"
    _description = "PRM Acquisition Cost"
    _order = "date_from desc, id desc"
    _check_company_auto = True

    name = fields.Char(string="Description", required=True)
    date_from = fields.Date(required=True, index=True)
    date_to = fields.Date(required=True, index=True)
    amount = fields.Monetary(required=True, currency_field="currency_id")
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    currency_id = fields.Many2one(
        "res.currency",
        required=True,
        default=lambda self: self.env.company.currency_id,
        help="The currency of the invoice; reports use the company currency.",
    )
    company_currency_id = fields.Many2one(
        related="company_id.currency_id", string="Company Currency"
    )
    amount_company = fields.Monetary(
        string="Amount (company currency)",
        currency_field="company_currency_id",
        compute="_compute_amount_company",
        store=True,
        help="Converted at the rate of the first day of the period.",
    )
    kind = fields.Selection(
        [("marketing", "Marketing"), ("sales", "Sales")],
        required=True,
        default="marketing",
    )
    source_id = fields.Many2one("utm.source", ondelete="restrict", index=True)
    medium_id = fields.Many2one("utm.medium", ondelete="restrict", index=True)
    campaign_id = fields.Many2one("utm.campaign", ondelete="restrict", index=True)
    notes = fields.Text()

    _sql_constraints = [
        ("amount_positive", "check(amount >= 0)", "A cost cannot be negative."),
    ]

    @api.depends("amount", "currency_id", "company_id", "date_from")
    def _compute_amount_company(self):
        for cost in self:
            target = cost.company_id.currency_id
            if not cost.currency_id or not target or cost.currency_id == target:
                cost.amount_company = cost.amount
            else:
                cost.amount_company = cost.currency_id._convert(
                    cost.amount,
                    target,
                    cost.company_id,
                    cost.date_from or fields.Date.context_today(cost),
                )

    @api.constrains("date_from", "date_to")
    def _check_dates(self):
        for cost in self:
            if cost.date_to < cost.date_from:
                raise ValidationError(
                    self.env._(
                        "The cost %(name)s ends (%(end)s) before it starts "
                        "(%(start)s).",
                        name=cost.name,
                        end=cost.date_to,
                        start=cost.date_from,
                    )
                )

    @api.model
    def _prm_demo_costs(self):
        """Demo data: what each paid source of the simulated prospects cost,
        month by month (its cost per lead times the leads it brought)."""
        from odoo.addons.prm_scoring.engine import simulator

        cost_per_lead = {name: cost for name, _m, _w, _q, cost in simulator.SOURCES}
        self.env["crm.lead"].flush_model()
        self.env.cr.execute(
            SQL(
                """
            SELECT s.id, s.name, m.id, date_trunc('month', l.create_date)::date,
                   count(*)
              FROM crm_lead l
              JOIN utm_source s ON s.id = l.source_id
              LEFT JOIN utm_medium m ON m.id = l.medium_id
             WHERE s.name = ANY(%s)
          GROUP BY 1, 2, 3, 4
                """,
                [name for name, cost in cost_per_lead.items() if cost],
            )
        )
        vals = []
        for source_id, name, medium_id, month, count in self.env.cr.fetchall():
            period = format_date(self.env, month, date_format="MMM y")
            vals.append(
                {
                    "name": self.env._(
                        "%(utm_source)s, %(month)s", utm_source=name, month=period
                    ),
                    "kind": "marketing",
                    "date_from": month,
                    "date_to": month + relativedelta(months=1, days=-1),
                    "amount": round(cost_per_lead[name] * count, 2),
                    "source_id": source_id,
                    "medium_id": medium_id,
                }
            )
        return self.create(vals)

    def _daily_amount(self):
        """Amount per day of the period, in the company currency (costs are
        spread evenly over their period)."""
        self.ensure_one()
        return self.amount_company / ((self.date_to - self.date_from).days + 1)
