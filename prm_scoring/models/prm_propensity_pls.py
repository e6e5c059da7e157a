# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import bisect

import numpy as np

from odoo import api, models
from odoo.tools import SQL

from ..engine import to_micros
from .crm_lead import ids_condition


class PrmPropensityPls(models.AbstractModel):
    """Odoo's predictive lead scoring (PLS) on past snapshots of leads, for
    the model card: the probability Odoo's own code gives each lead with the
    fields Odoo is set to use, the lead being in the stage it was in then."""

    _name = "prm.propensity.pls"
    _description = "PRM: Odoo's lead scoring on past snapshots"

    @api.model
    def _probabilities(self, lead_ids, at):
        """Odoo's PLS probability (0..1, NaN where Odoo gives none) of each
        snapshot (lead id, instant in µs).

        Odoo's own ``_pls_get_naive_bayes_probabilities`` computes them (the
        very code behind the probability it shows), on the real leads, their
        stage replaced by the one they had at the instant; a lead appearing in
        several snapshots is computed once per round."""
        lead_ids = np.asarray(lead_ids, dtype=np.int64)
        stages = self._stages_at(lead_ids, np.asarray(at, dtype=np.int64))
        Lead = self.env["crm.lead"].sudo().with_context(active_test=False)
        out = np.full(len(lead_ids), np.nan)
        # round k holds the k-th snapshot of each lead
        order = np.lexsort((np.asarray(at), lead_ids))
        first = np.r_[True, lead_ids[order][1:] != lead_ids[order][:-1]]
        starts = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order)) - starts
        for k in range(int(rank.max()) + 1 if len(rank) else 0):
            rows = np.nonzero(rank == k)[0]
            ids = lead_ids[rows].tolist()
            stage_of = dict(zip(ids, (stages[r] for r in rows), strict=True))
            leads = Lead.browse(ids).with_context(prm_pls_stage_at=stage_of)
            probabilities = leads._pls_get_naive_bayes_probabilities()
            out[rows] = [
                probabilities[i] / 100.0 if i in probabilities else np.nan for i in ids
            ]
            leads.invalidate_recordset()
        return out

    @api.model
    def _stages_at(self, lead_ids, at):
        """Stage id of each lead at each instant (µs), from the stage
        tracking: the last change before the instant, else the stage before
        the first change, else the current stage.  The lead was open then:
        a won stage (a move without tracking) reads as the first open stage."""
        field = self.env["ir.model.fields"]._get("crm.lead", "stage_id")
        ids = sorted(set(lead_ids.tolist()))
        self.env.cr.execute(
            SQL(
                """
            SELECT m.res_id, m.date, v.old_value_integer, v.new_value_integer
              FROM mail_tracking_value v
              JOIN mail_message m ON m.id = v.mail_message_id
             WHERE m.model = 'crm.lead' AND v.field_id = %s AND %s
          ORDER BY m.res_id, m.date, v.id
                """,
                field.id,
                ids_condition(SQL("m.res_id"), ids),
            )
        )
        changes = {}
        for res_id, date, old, new in self.env.cr.fetchall():
            changes.setdefault(res_id, []).append((to_micros(date), old, new))
        self.env.cr.execute(
            SQL(
                "SELECT id, stage_id FROM crm_lead WHERE %s",
                ids_condition(SQL("id"), ids),
            )
        )
        current = dict(self.env.cr.fetchall())
        won_stages = set(self.env["crm.stage"].search([("is_won", "=", True)]).ids)
        first_open = self.env["crm.stage"].search(
            [("is_won", "=", False)], order="sequence, id", limit=1
        )
        stages = []
        for lead_id, moment in zip(lead_ids.tolist(), at.tolist(), strict=True):
            history = changes.get(lead_id)
            if not history:
                stage = current.get(lead_id)
            else:
                i = bisect.bisect_right([h[0] for h in history], moment)
                stage = history[i - 1][2] if i else history[0][1]
            if not stage or stage in won_stages:
                stage = first_open.id
            stages.append(stage or False)
        return stages
