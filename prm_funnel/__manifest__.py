# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "PRM Funnel",
    "summary": "Valued funnel, source quality and acquisition costs of prospects",
    "version": "18.0.1.0.0",
    "category": "Sales/CRM",
    "website": "https://github.com/prm-for-odoo/prm",
    "author": "PRM for Odoo",
    "maintainers": ["prm-for-odoo"],
    "license": "LGPL-3",
    "development_status": "Alpha",
    "depends": ["prm_scoring"],
    "data": [
        "security/prm_funnel_security.xml",
        "security/ir.model.access.csv",
        "views/prm_acquisition_cost_views.xml",
        "views/prm_funnel_menus.xml",
    ],
    "demo": ["demo/prm_acquisition_cost_demo.xml"],
    "installable": True,
    "application": False,
}
