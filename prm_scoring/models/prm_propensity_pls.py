# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import numpy as np

from odoo import api, models


class PrmPropensityPls(models.AbstractModel):
    """Odoo's predictive lead scoring (PLS) on past snapshots of leads, for
    the model card: the probability Odoo's own code gives each lead with the
    fields Odoo is set to use, the lead being in the stage it was in then."""

    _name = "prm.propensity.pls"
    _description = "PRM: Odoo's lead scoring on past snapshots"

    @api.model
    def _probabilities(self, lead_ids, at, stages=None):
        """Odoo's PLS probability (0..1, NaN where Odoo gives none) of each
        snapshot (lead id, instant in µs).

        Odoo's own ``_pls_get_naive_bayes_probabilities`` computes them (the
        very code behind the probability it shows), on the real leads, their
        stage replaced by the one they had at the instant; a lead appearing in
        several snapshots is computed once per round.  ``stages``: the stage
        of each snapshot, when known already (else read from the tracking)."""
        lead_ids = np.asarray(lead_ids, dtype=np.int64)
        if stages is None:
            stages = self.env["prm.propensity.data"]._stages_at(
                lead_ids, np.asarray(at, dtype=np.int64)
            )
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
