# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL, format_date


class PrmAnalysisMixin(models.AbstractModel):
    """Filters and access guard shared by the PRM analyses.

    The analyses compute their figures in SQL, which record rules do not
    reach: they keep to the companies the user works in, and a salesperson
    who sees only their own leads gets the figures of those (and unassigned)
    leads only, as crm's own rules would."""

    _name = "prm.analysis.mixin"
    _description = "PRM Analysis (filters)"

    date_from = fields.Date(
        string="Leads created from",
        required=True,
        default=lambda self: fields.Date.context_today(self) - relativedelta(years=1),
    )
    date_to = fields.Date(
        string="to", required=True, default=lambda self: fields.Date.context_today(self)
    )
    team_id = fields.Many2one("crm.team", string="Sales Team")
    user_id = fields.Many2one("res.users", string="Salesperson")
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        domain=lambda self: [("id", "in", self.env.companies.ids)],
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    computed = fields.Boolean(readonly=True)

    def _prm_title(self):
        """What the analysis is, for its title (each analysis says)."""
        return self._description

    @api.depends("date_from", "date_to")
    def _compute_display_name(self):
        """Titled by what and when: "Funnel analysis, 3 Dec 2025 - 3 Dec 2026"."""
        for analysis in self:
            dates = [
                format_date(self.env, day, date_format="d MMM y")
                for day in (analysis.date_from, analysis.date_to)
                if day
            ]
            analysis.display_name = ", ".join(
                [analysis._prm_title(), " \u2013 ".join(dates)]
                if dates
                else [analysis._prm_title()]
            )

    def _check_company(self):
        if self.company_id not in self.env.companies:
            raise AccessError(
                self.env._("You cannot analyse the leads of %s.", self.company_id.name)
            )

    def _own_leads_only(self):
        return self.env["crm.lead"]._prm_own_leads_only()

    def _period(self):
        """(start, end) datetimes of the period, end excluded."""
        return (
            fields.Datetime.to_datetime(self.date_from),
            fields.Datetime.to_datetime(self.date_to) + relativedelta(days=1),
        )

    def _lead_conditions(self, alias, fields_=("team_id", "user_id")):
        """SQL conditions on a table of leads (or rows carrying a lead's
        company, team, salesperson...): company, filters, access."""
        self._check_company()
        # the rows of the company or of none; PostgreSQL estimates this form
        # from the column's statistics (COALESCE(...) = x as 0.5 % of the rows,
        # which made the Source Quality analysis look its leads' value added
        # up one by one instead of hashing it: 1.22 s against 1.08 s)
        company = SQL.identifier(alias, "company_id")
        conditions = [
            SQL("(%s = %s OR %s IS NULL)", company, self.company_id.id, company)
        ]
        for field in fields_:
            if self[field]:
                conditions.append(
                    SQL("%s = %s", SQL.identifier(alias, field), self[field].id)
                )
        if self._own_leads_only():
            user = SQL.identifier(alias, "user_id")
            conditions.append(SQL("(%s = %s OR %s IS NULL)", user, self.env.uid, user))
        return conditions

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "current",
        }
