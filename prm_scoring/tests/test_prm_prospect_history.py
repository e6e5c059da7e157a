# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import datetime, timedelta

import numpy as np

from odoo.tests import tagged

from odoo.addons.prm_tracking.tests.common import PrmCommon

from ..engine import simulator, to_micros

NOW = datetime(2026, 6, 15, 12, 0, 0)


@tagged("post_install", "-at_install", "prm_scoring")
class TestPrmProspectHistory(PrmCommon):
    """A simulated history is loaded as a CRM holds it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.scenario = simulator.Scenario(n=300, days=150, horizon=30, seed=4)
        cls.lead_of = cls.env["prm.prospect.history"]._load(cls.scenario, NOW)

    def test_leads_outcomes_and_events(self):
        """Every prospect known today is a lead with its profile and dates;
        wins and losses are closed as Odoo closes them; every event before
        today is stored once."""
        sc = self.scenario
        known = sc.created < sc.cutoff
        self.assertEqual(int((self.lead_of > 0).sum()), int(known.sum()))
        Lead = self.env["crm.lead"].with_context(active_test=False)
        leads = Lead.browse(self.lead_of[known].tolist())
        profiles = sc.profiles()
        for i, lead in zip(np.nonzero(known)[0].tolist(), leads, strict=True):
            self.assertEqual(lead.email_from, profiles[i]["email"])
            self.assertEqual(lead.source_id.name, profiles[i]["source"])
            created = NOW - timedelta(days=sc.cutoff - sc.created[i])
            self.assertLess(abs((lead.create_date - created).total_seconds()), 1)
            if sc.won_day[i] <= sc.cutoff:
                self.assertTrue(lead.stage_id.is_won and lead.probability == 100)
                self.assertTrue(lead.active)
            elif sc.lost_day[i] <= sc.cutoff:
                self.assertFalse(lead.active)
                self.assertEqual(lead.probability, 0)
            else:
                self.assertTrue(lead.active and not lead.stage_id.is_won)
        events = self.env["prm.event"].search_count([("lead_id", "in", leads.ids)])
        self.assertEqual(events, len(sc.events()))
        # each loss is in Odoo's tracking: the lead archived that day
        active = self.env["ir.model.fields"]._get("crm.lead", "active")
        archived = self.env["mail.tracking.value"].search(
            [("field_id", "=", active.id), ("mail_message_id.res_id", "in", leads.ids)]
        )
        self.assertEqual(len(archived), int((sc.lost_day <= sc.cutoff).sum()))
        self.assertEqual(set(archived.mapped("new_value_integer")), {0})

    def test_stage_moves_are_tracked(self):
        """The stage a lead had at any past instant is read back from Odoo's
        tracking as the simulator moved it."""
        sc = self.scenario
        stages = self.env["crm.stage"].search(
            [("is_won", "=", False)], order="sequence, id", limit=3
        )
        moved = sc.stage_day < sc.cutoff
        checked = 0
        for p, day, key in zip(
            sc.stage_prospect[moved].tolist(),
            sc.stage_day[moved].tolist(),
            sc.stage_key[moved].tolist(),
            strict=True,
        ):
            if not self.lead_of[p] or sc.won_day[p] <= day + 0.01:
                continue
            later = sc.stage_day[(sc.stage_prospect == p) & (sc.stage_day > day)]
            if len(later) and later.min() < day + 0.02:
                continue
            at = to_micros(NOW - timedelta(days=sc.cutoff - day - 0.01))
            got = self.env["prm.propensity.data"]._stages_at(
                np.array([self.lead_of[p]]), np.array([at])
            )
            self.assertEqual(got, [stages[key].id])
            checked += 1
        self.assertGreater(checked, 10)
