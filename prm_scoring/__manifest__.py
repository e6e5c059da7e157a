# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "PRM Scoring",
    "summary": "Fit and engagement scores of prospects, with decay and qualification",
    "version": "18.0.1.0.0",
    "category": "Sales/CRM",
    "website": "https://github.com/prm-for-odoo/prm",
    "author": "PRM for Odoo",
    "maintainers": ["prm-for-odoo"],
    "license": "LGPL-3",
    "development_status": "Alpha",
    "depends": ["prm_tracking"],
    "data": [
        "security/prm_scoring_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron_data.xml",
        "views/prm_scoring_ruleset_views.xml",
        "views/prm_scoring_rule_views.xml",
        "views/prm_score_entry_views.xml",
        "views/prm_qualification_rule_views.xml",
        "wizards/prm_qualification_reject_views.xml",
        "views/crm_lead_views.xml",
        "views/prm_scoring_menus.xml",
    ],
    "demo": ["demo/prm_scoring_ruleset_demo.xml"],
    "installable": True,
    "application": False,
}
