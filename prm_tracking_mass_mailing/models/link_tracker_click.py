# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models


class LinkTrackerClick(models.Model):
    _inherit = "link.tracker.click"

    @api.model_create_multi
    def create(self, vals_list):
        clicks = super().create(vals_list)
        clicks._prm_record()
        return clicks

    def _prm_record(self):
        """Each click in a mailing becomes an email_click event on the recipient."""
        Trace = self.env["mailing.trace"]
        values = []
        for click in self.sudo().filtered("mailing_trace_id"):
            trace = click.mailing_trace_id
            values.append(
                trace._prm_values(
                    "email_click",
                    "click",
                    click.create_date,
                    url=click.link_id.url,
                    external_id=f"click-{click.id}",
                    bot=Trace._prm_click_bot_reason(trace, click.create_date),
                )
            )
        return self.env["prm.ingest"].sudo()._record(values)
