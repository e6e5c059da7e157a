# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "PRM Funnel - Invoicing",
    "summary": "Acquisition-cost incidence from posted customer invoices",
    "version": "18.0.1.0.0",
    "category": "Sales/CRM",
    "website": "https://github.com/prm-for-odoo/prm",
    "author": "PRM for Odoo",
    "maintainers": ["prm-for-odoo"],
    "license": "LGPL-3",
    "development_status": "Alpha",
    "depends": ["prm_funnel", "account"],
    "auto_install": True,
    "installable": True,
}
