# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "PRM Tracking",
    "summary": "Engagement events of prospects on leads and partners",
    "version": "18.0.1.0.0",
    "category": "Sales/CRM",
    "website": "https://github.com/prm-for-odoo/prm",
    "author": "PRM for Odoo",
    "maintainers": ["prm-for-odoo"],
    "license": "LGPL-3",
    "development_status": "Alpha",
    "depends": ["crm"],
    "data": [
        "security/prm_tracking_security.xml",
        "security/ir.model.access.csv",
        "data/prm_event_type_data.xml",
        "views/prm_event_type_views.xml",
        "views/prm_event_views.xml",
        "views/prm_tracking_menus.xml",
    ],
    "demo": ["demo/prm_event_demo.xml"],
    "installable": True,
    "application": False,
}
