# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import random
from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo.tests import tagged

from odoo.addons.prm_tracking.tests.common import PrmIngestCommon

from ..engine import Event, score_lead

NOON = datetime(2026, 6, 15, 12, 0, 0)


@tagged("post_install", "-at_install", "prm_scoring")
class TestPrmScoringMatch(PrmIngestCommon):
    """The SQL side of bulk scoring (rule filters turned into one query) must
    count exactly the events the engine's own ``EngagementRule.matches``
    counts."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Ruleset = cls.env["prm.scoring.ruleset"]
        Ruleset.search([("company_id", "=", cls.company.id)]).write({"active": False})
        cls.ruleset = Ruleset.create(
            {
                "name": "Filters under test",
                "fit_weight": 0,
                "engagement_weight": 100,
                "engagement_cap": 1000,
            }
        )
        types = {t.code: t for t in cls.env["prm.event.type"].search([])}
        google = cls.env["utm.source"].create({"name": "google"})
        rules = [
            {
                "name": "Pricing",
                "code": "page_view",
                "points": 5,
                "url_pattern": "*/pricing*",
            },
            {"name": "Any page", "code": "page_view", "points": 1, "half_life_days": 7},
            {
                "name": "Google",
                "code": "page_view",
                "points": 3,
                "utm_source_id": google.id,
            },
            {
                "name": "Plan 3",
                "code": "form_submit",
                "points": 11,
                "property_key": "plan",
                "property_value": "3",
            },
            {
                "name": "Has plan",
                "code": "form_submit",
                "points": 2,
                "property_key": "plan",
            },
            {
                "name": "Daily visits",
                "code": "page_view",
                "points": 2,
                "period_days": 1,
                "period_cap": 3,
            },
        ]
        cls.env["prm.scoring.rule"].create(
            [
                dict(
                    {k: v for k, v in rule.items() if k != "code"},
                    ruleset_id=cls.ruleset.id,
                    kind="engagement",
                    event_type_id=types[rule["code"]].id,
                )
                for rule in rules
            ]
        )

    def _engine_events(self, lead):
        return [
            Event(
                id=e.id,
                type=e.event_type_id.code,
                occurred_at=e.occurred_at,
                url=e.url or "",
                source=e.source_id.name or "",
                medium=e.medium_id.name or "",
                campaign=e.campaign_id.name or "",
                properties=(e.payload or {}).get("properties") or {},
                is_bot=e.is_bot,
            )
            for e in lead.prm_event_ids
        ]

    def test_sql_filters_equal_engine(self):
        """URL patterns, UTM values (any case), properties and bots: the bulk
        query and the engine's predicates give the same score."""
        rnd = random.Random(3)
        leads = self.env["crm.lead"].create(
            [{"name": f"M{i}", "email_from": f"m{i}@acme.example"} for i in range(6)]
        )
        urls = [
            "https://x.com/pricing",
            "https://x.com/PRICING/team",
            "https://x.com/blog",
            None,
        ]
        plans = [3, "3", 3.5, None, "x"]
        with freeze_time(NOON):
            events = []
            for _i in range(60):
                lead = rnd.choice(leads)
                values = {
                    "email": lead.email_from,
                    "at": NOON - timedelta(days=rnd.uniform(0, 20)),
                }
                if rnd.random() < 0.5:
                    if url := rnd.choice(urls):
                        values["url"] = url
                    if rnd.random() < 0.5:
                        values["utm"] = {
                            "source": rnd.choice(["google", "Google", "bing"])
                        }
                    events.append(self._event("page_view", **values))
                else:
                    plan = rnd.choice(plans)
                    props = {} if plan is None else {"plan": plan}
                    events.append(
                        self._event("form_submit", properties=props, **values)
                    )
            self.ingest(events)
            # a bot hit never counts
            self.env["prm.event"].create(
                {
                    "event_type_id": self.page_view.id,
                    "lead_id": leads[0].id,
                    "url": "https://x.com/pricing",
                    "is_bot": True,
                    "bot_reason": "test",
                    "occurred_at": NOON,
                }
            )
            rules = [r._to_engine() for r in self.ruleset.rule_ids]
            settings = self.ruleset._engine_settings()
            stored = leads._prm_score_all(explain=True)
            for lead in leads:
                expected = score_lead(
                    [], self._engine_events(lead), rules, settings, NOON
                )
                self.assertEqual(stored[lead.id], expected, lead.name)
        self.assertTrue(any(score.total for score in stored.values()))
