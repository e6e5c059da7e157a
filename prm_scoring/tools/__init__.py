# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
