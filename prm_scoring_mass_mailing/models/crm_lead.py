# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models


class CrmLead(models.Model):
    _inherit = "crm.lead"

    def _prm_enter_state(self, rule):
        res = super()._prm_enter_state(rule)
        if rule.state == "nurturing" and rule.mailing_list_id:
            self._prm_join_mailing_list(rule.mailing_list_id)
        return res

    def _prm_join_mailing_list(self, mailing_list):
        """Subscribe these leads' emails to ``mailing_list``: an existing
        mailing contact with the same email is reused, a new one is made
        otherwise, and a contact who opted out of the list stays out."""
        leads = self.filtered("email_normalized")
        if not leads:
            return
        Contact = self.env["mailing.contact"].sudo()
        emails = set(leads.mapped("email_normalized"))
        contacts = {}
        for contact in Contact.search(
            [("email_normalized", "in", list(emails))], order="id"
        ):
            contacts.setdefault(contact.email_normalized, contact)
        new = [lead for lead in leads if lead.email_normalized not in contacts]
        seen = set()
        vals_list = []
        for lead in new:
            if lead.email_normalized in seen:
                continue
            seen.add(lead.email_normalized)
            vals_list.append(
                {
                    "name": lead.contact_name or lead.partner_name or lead.name,
                    "email": lead.email_from,
                    "company_name": lead.partner_name,
                    "country_id": lead.country_id.id,
                }
            )
        for contact in Contact.create(vals_list):
            contacts[contact.email_normalized] = contact
        subscribed = (
            self.env["mailing.subscription"]
            .sudo()
            .search(
                [
                    ("list_id", "=", mailing_list.id),
                    ("contact_id", "in", [c.id for c in contacts.values()]),
                ]
            )
            .contact_id
        )
        self.env["mailing.subscription"].sudo().create(
            [
                {"contact_id": contact.id, "list_id": mailing_list.id}
                for contact in contacts.values()
                if contact not in subscribed
            ]
        )
