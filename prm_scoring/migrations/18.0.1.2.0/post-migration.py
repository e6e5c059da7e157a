# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""18.0.1.2.0: conversion models learn the leads' attributes and engagement
windows; models trained before cannot be evaluated any more.  They are
archived (their cards stay readable) and the training job runs soon."""

from odoo import SUPERUSER_ID, api, fields


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    Model = env["prm.propensity.model"].with_context(active_test=False)
    old = Model.search([]).filtered(lambda m: (m.params or {}).get("version") != 2)
    old.with_context(prm_training=True).write({"active": False})
    cron = env.ref("prm_scoring.ir_cron_prm_propensity_train", raise_if_not_found=False)
    if cron and old:
        cron.nextcall = fields.Datetime.now()
