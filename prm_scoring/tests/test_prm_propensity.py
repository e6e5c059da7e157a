# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import random
from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import SQL

from odoo.addons.prm_tracking.tests.common import PrmCommon

NOON = datetime(2026, 6, 15, 12, 0, 0)


@tagged("post_install", "-at_install", "prm_scoring")
class TestPrmPropensity(PrmCommon):
    """A history where leads engaged early are won soon: the model must learn
    it, say how well it does, and score open leads accordingly."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["prm.scoring.ruleset"].search([]).write({"active": False})
        cls.ruleset = cls.env["prm.scoring.ruleset"].create(
            {"name": "P rules", "horizon_days": 30}
        )
        cls.env["prm.scoring.rule"].create(
            [
                {
                    "ruleset_id": cls.ruleset.id,
                    "name": "Views",
                    "kind": "engagement",
                    "event_type_id": cls.page_view.id,
                    "points": 10,
                    "half_life_days": 14,
                },
                {
                    "ruleset_id": cls.ruleset.id,
                    "name": "Phone",
                    "kind": "fit",
                    "points": 40,
                    "domain": "[('phone', '!=', False)]",
                },
            ]
        )
        cls.won_stage = cls.env["crm.stage"].search([("is_won", "=", True)], limit=1)
        rnd = random.Random(1)
        leads = cls.env["crm.lead"].create(
            [{"name": f"H{i}", "type": "opportunity"} for i in range(400)]
        )
        events, closing = [], []
        for lead in leads:
            created = NOON - timedelta(days=rnd.uniform(45, 400))
            hot = rnd.random() < 0.5
            views = rnd.randint(4, 9) if hot else rnd.randint(0, 1)
            events += [
                {
                    "event_type_id": cls.page_view.id,
                    "lead_id": lead.id,
                    "occurred_at": created + timedelta(hours=rnd.uniform(0, 6)),
                }
                for _v in range(views)
            ]
            if hot and rnd.random() < 0.7:
                closing.append(
                    (
                        lead.id,
                        created,
                        created + timedelta(days=rnd.uniform(2, 25)),
                        True,
                    )
                )
            elif rnd.random() < 0.1:
                closing.append(
                    (
                        lead.id,
                        created,
                        created + timedelta(days=rnd.uniform(40, 90)),
                        True,
                    )
                )
            elif rnd.random() < 0.6:
                closing.append((lead.id, created, created + timedelta(days=30), False))
            else:
                closing.append((lead.id, created, None, None))
        cls.env["prm.event"].create(events)
        cls.env.flush_all()
        for lead_id, created, closed, won in closing:
            cls.env.cr.execute(
                SQL(
                    """UPDATE crm_lead SET create_date = %s, date_closed = %s,
                              probability = %s, active = %s,
                              stage_id = COALESCE(%s, stage_id)
                        WHERE id = %s""",
                    created,
                    closed,
                    100 if won else (0 if won is False else 10),
                    won is not False,
                    cls.won_stage.id if won else None,
                    lead_id,
                )
            )
        cls.env["crm.lead"].invalidate_model()
        # Odoo's own PLS, its frequency table rebuilt from that history
        cls.env["ir.config_parameter"].set_param("crm.pls_start_date", "2025-01-01")
        cls.env["crm.lead"]._rebuild_pls_frequency_table()
        # two open leads, as they are today: one engaged, one not
        cls.engaged, cls.silent = cls.env["crm.lead"].create(
            [{"name": "Engaged now"}, {"name": "Silent now"}]
        )
        cls.env["prm.event"].create(
            [
                {
                    "event_type_id": cls.page_view.id,
                    "lead_id": cls.engaged.id,
                    "occurred_at": NOON - timedelta(hours=h),
                }
                for h in range(1, 7)
            ]
        )
        cls.env.flush_all()
        cls.env.cr.execute(
            SQL(
                "UPDATE crm_lead SET create_date = %s WHERE id IN %s",
                NOON - timedelta(days=1),
                (cls.engaged.id, cls.silent.id),
            )
        )

    def test_trained_model_and_card(self):
        """The model learns from the history, beats the base rate out of time,
        is compared with Odoo's PLS, and explains itself in a model card."""
        with freeze_time(NOON):
            model = self.env["prm.propensity.model"]._train(self.ruleset, now=NOON)
        self.assertEqual(model.state, "trained", model.message)
        self.assertGreater(model.auc, 0.75)
        self.assertLess(model.brier, model.base_rate_brier)
        self.assertEqual(
            sum(row["count"] for row in model.calibration), model.validation_size
        )
        # the snapshots whose outcome window reaches the next part are left out
        self.assertLess(
            model.fit_size + model.calibration_size + model.validation_size,
            model.sample_size,
        )
        self.assertLess(model.window_start, model.window_end)
        self.assertGreater(model.pls_coverage, 0)
        self.assertTrue(0 < model.pls_auc <= 1 and 0 < model.pls_brier < 1)
        self.assertTrue(model.auc_low <= model.auc <= model.auc_high)
        self.assertTrue(0 <= model.ece < 0.2)
        self.assertEqual(len(model.lift), 10)
        card = str(model.model_card)
        self.assertIn("Conversion by decile", card)
        self.assertIn("Page views", card)
        self.assertIn("Odoo's predictive lead scoring", card)
        # the reliability diagram and the lift chart, drawn by Chart.js
        reliability = model.reliability_chart
        self.assertEqual(reliability["type"], "scatter")
        points = reliability["data"]["datasets"][1]["data"]
        self.assertEqual(
            [p["y"] for p in points], [row["observed"] for row in model.calibration]
        )
        lift = model.lift_chart
        self.assertEqual(lift["data"]["labels"], [str(i) for i in range(1, 11)])
        self.assertEqual(len(lift["data"]["datasets"]), 2)  # this model, PLS
        self.assertTrue(model.active)
        # open leads now get a probability: the engaged one a higher one
        with freeze_time(NOON):
            self.env["crm.lead"]._cron_prm_rescore_all(now=NOON)
        engaged = self.engaged.prm_conversion_probability
        silent = self.silent.prm_conversion_probability
        self.assertTrue(0 <= silent < engaged <= 100, (silent, engaged))
        # and say why: the engaged lead's page views raise its probability
        with freeze_time(NOON):
            self.engaged.invalidate_recordset(["prm_probability_factors"])
            factors = str(self.engaged.prm_probability_factors)
        self.assertIn("Page views", factors)
        self.assertIn("6 in the last 30 days, 6 in all", factors)
        self.assertIn("▲", factors)

    def test_models_of_an_earlier_version_are_not_used(self):
        """A model stored by an earlier version (other features) is never
        evaluated: the lead shows no probability rather than a wrong one."""
        Model = self.env["prm.propensity.model"].with_context(prm_training=True)
        Model.create(
            {
                "company_id": self.company.id,
                "state": "trained",
                "params": {"coef": [1.0], "intercept": 0.0},
            }
        )
        self.assertFalse(Model._get_active(self.company))
        with freeze_time(NOON):
            self.engaged._prm_rescore(now=NOON)
        self.assertFalse(self.engaged.prm_has_probability)
        self.assertIn("No conversion model", str(self.engaged.prm_probability_factors))

    def test_retraining_archives_the_previous_model(self):
        """A new model replaces the active one; the old one is kept, archived."""
        with freeze_time(NOON):
            first = self.env["prm.propensity.model"]._train(self.ruleset, now=NOON)
            second = self.env["prm.propensity.model"]._train(self.ruleset, now=NOON)
        self.assertFalse(first.active)
        self.assertTrue(second.active)
        self.assertTrue(first.exists())

    def test_not_enough_data(self):
        """Without enough history: a clear message, and no probability shown."""
        ruleset = self.env["prm.scoring.ruleset"].create(
            {"name": "C2 rules", "company_id": self.company_2.id}
        )
        with freeze_time(NOON):
            model = self.env["prm.propensity.model"]._train(ruleset, now=NOON)
            self.lead_2._prm_rescore(now=NOON)
        self.assertEqual(model.state, "not_enough_data")
        self.assertIn("conversions", model.message)
        self.assertFalse(model.active)
        self.assertFalse(self.lead_2.prm_conversion_probability)
        self.assertFalse(self.env["prm.propensity.model"]._get_active(self.company_2))

    def test_model_parameters_only_from_training(self):
        """Nobody (a manager over RPC included) rewrites a model's parameters
        or makes one by hand: every rescore evaluates them."""
        with freeze_time(NOON):
            model = self.env["prm.propensity.model"]._train(self.ruleset, now=NOON)
        Model = self.env["prm.propensity.model"].with_user(self.sales_manager)
        with self.assertRaises(UserError):
            model.with_user(self.sales_manager).write({"params": {"coef": "x"}})
        with self.assertRaises(UserError):
            Model.create({"company_id": self.company.id, "params": {}})
        # the training's own context flag, sent by a client, changes nothing
        with self.assertRaises(UserError):
            model.with_user(self.sales_manager).with_context(prm_training=True).write(
                {"auc": 0.99}
            )
        self.assertEqual(model.state, "trained")

    def test_salesman_cannot_train(self):
        """Salespeople read the model card but cannot train models."""
        with self.assertRaises(AccessError):
            self.env["prm.propensity.model"].with_user(self.salesman).action_train()
