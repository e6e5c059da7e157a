# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import datetime, timedelta

import numpy as np
from freezegun import freeze_time

from odoo import Command
from odoo.tests import tagged

from odoo.addons.prm_tracking.tests.common import PrmCommon

from ..engine import to_micros

NOON = datetime(2026, 6, 15, 12, 0, 0)


@tagged("post_install", "-at_install", "prm_scoring")
class TestPrmPropensityPls(PrmCommon):
    """The model card's Odoo PLS figures are Odoo's own probabilities."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stages = cls.env["crm.stage"].search(
            [("is_won", "=", False)], order="sequence, id", limit=2
        )
        cls.won_stage = cls.env["crm.stage"].search([("is_won", "=", True)], limit=1)
        cls.be = cls.env.ref("base.be")
        cls.fr = cls.env.ref("base.fr")
        cls.team = cls.env["crm.team"].create({"name": "PLS team"})
        # a closed history: Belgian leads mostly won, French ones mostly lost
        vals = []
        for i in range(120):
            country = cls.be if i % 2 else cls.fr
            won = (i % 10 < 7) if country == cls.be else (i % 10 < 2)
            vals.append((country, won, cls.stages[i % 2]))
        leads = cls.env["crm.lead"].create(
            [
                {
                    "name": f"Closed {i}",
                    "type": "opportunity",
                    "team_id": cls.team.id,
                    "country_id": country.id,
                    "stage_id": stage.id,
                }
                for i, (country, _won, stage) in enumerate(vals)
            ]
        )
        for lead, (_country, won, _stage) in zip(leads, vals, strict=True):
            if won:
                lead.action_set_won()
            else:
                lead.action_set_lost()
        cls.open = cls.env["crm.lead"].create(
            [
                {
                    "name": f"Open {i}",
                    "type": "opportunity",
                    "team_id": cls.team.id,
                    "country_id": (cls.be if i % 2 else cls.fr).id,
                    "stage_id": cls.stages[i % 2].id,
                }
                for i in range(6)
            ]
        )
        cls.env["ir.config_parameter"].set_param("crm.pls_fields", "country_id")
        cls.env["ir.config_parameter"].set_param("crm.pls_start_date", "2020-01-01")
        cls.env["crm.lead"]._cron_update_automated_probabilities()
        cls.env.flush_all()

    def test_same_probabilities_as_odoo_shows(self):
        """For open leads now, the card's PLS probability is exactly the
        automated probability Odoo computed and shows on them."""
        shown = self.open.mapped("automated_probability")
        self.assertGreater(len(set(shown)), 1, "the countries must matter")
        with freeze_time(NOON):
            got = self.env["prm.propensity.pls"]._probabilities(
                self.open.ids, [to_micros(NOON)] * len(self.open)
            )
        self.assertEqual([round(100 * p, 2) for p in got], shown)

    def test_stage_at_the_snapshot(self):
        """A lead's past snapshot is scored in the stage it had then, and
        several snapshots of one lead are each scored."""
        lead = self.open[0]
        early, late = self.stages
        self.assertEqual(lead.stage_id, early)
        # the move, as Odoo's tracking records it, a day before noon
        lead.stage_id = late
        field = self.env["ir.model.fields"]._get("crm.lead", "stage_id")
        self.env["mail.message"].create(
            {
                "model": "crm.lead",
                "res_id": lead.id,
                "message_type": "notification",
                "date": NOON - timedelta(days=1),
                "tracking_value_ids": [
                    Command.create(
                        {
                            "field_id": field.id,
                            "old_value_integer": early.id,
                            "new_value_integer": late.id,
                        }
                    )
                ],
            }
        )
        self.env.flush_all()
        at = [to_micros(NOON - timedelta(days=2)), to_micros(NOON)]
        stages = self.env["prm.propensity.data"]._stages_at(
            np.array([lead.id, lead.id]), np.array(at)
        )
        self.assertEqual(stages, [early.id, late.id])
        got = self.env["prm.propensity.pls"]._probabilities([lead.id, lead.id], at)
        in_early = self.env["crm.lead"].new(
            {"team_id": self.team.id, "country_id": lead.country_id.id}
        )
        in_early.stage_id = early
        expected = in_early._pls_get_naive_bayes_probabilities()
        self.assertAlmostEqual(got[0], list(expected.values())[0] / 100.0)
        self.assertAlmostEqual(got[1], lead.automated_probability / 100.0)
        self.assertNotAlmostEqual(got[0], got[1])
