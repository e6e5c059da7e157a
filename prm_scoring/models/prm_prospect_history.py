# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

import numpy as np

from odoo import api, fields, models
from odoo.tools import SQL

from odoo.addons.prm_tracking.tools.event_rows import insert_events

from ..engine import simulator, to_micros
from .crm_lead import pg_array

CREATE_BATCH = 500
DEMO_PROSPECTS = 2400  # over 2,000 of them are known today (a year of them)
DEMO_SEED = 2026


class PrmProspectHistory(models.AbstractModel):
    """Loads a simulated prospect history (``engine.simulator.Scenario``)
    into the CRM as a CRM holds it: leads with their declared profile made by
    the ORM, their engagement events, their stage moves recorded by Odoo's
    tracking, wins and losses.  The demo data and the prediction benchmark
    use it; the scenario's last known day becomes ``now``."""

    _name = "prm.prospect.history"
    _description = "PRM simulated prospect history"

    @api.model
    def _load(self, scenario, now=None):
        """Create the scenario's prospects known at its cutoff; return their
        lead ids by prospect index (0 where not created yet)."""
        now = now or fields.Datetime.now()

        def when(day):
            return now - timedelta(days=float(scenario.cutoff - day))

        profiles = scenario.profiles()
        known = [i for i, p in enumerate(profiles) if p["created"] < scenario.cutoff]
        refs = self._references(profiles)
        Lead = self.env["crm.lead"].with_context(
            tracking_disable=True, mail_create_nolog=True, mail_notrack=True
        )
        lead_of = np.zeros(len(profiles), dtype=np.int64)
        for start in range(0, len(known), CREATE_BATCH):
            chunk = known[start : start + CREATE_BATCH]
            leads = Lead.create([self._lead_vals(profiles[i], refs) for i in chunk])
            lead_of[chunk] = leads.ids
        self.env.flush_all()
        self._set_life(scenario, lead_of, known, when, refs)
        self._track_stages(scenario, lead_of, when, refs)
        self._insert_events(scenario, lead_of, when, now)
        self.env["crm.lead"].invalidate_model()
        return lead_of

    @api.model
    def _load_demo(self):
        """Demo data: a year of simulated prospects, scored, with a trained
        conversion model, so that every report shows something real."""
        scenario = simulator.Scenario(
            n=DEMO_PROSPECTS, days=365, horizon=30, seed=DEMO_SEED
        )
        now = fields.Datetime.now().replace(microsecond=0)
        lead_of = self._load(scenario, now)
        Lead = self.env["crm.lead"]
        self._first_scores(lead_of[lead_of > 0])
        Lead._cron_prm_rescore_all(now=now)
        for ruleset in self.env["prm.scoring.ruleset"].search([("active", "=", True)]):
            self.env["prm.propensity.model"]._train(ruleset, now=now)
        Lead._cron_prm_rescore_all(now=now)
        return lead_of

    @api.model
    def _first_scores(self, lead_ids):
        """Score each lead as it was an hour after its creation: the "score
        at creation" the analyses compare with the score now."""
        ruleset = self.env["prm.scoring.ruleset"]._get_active()
        if not ruleset or not len(lead_ids):
            return
        lead_ids = np.sort(np.asarray(lead_ids, dtype=np.int64))
        self.env["crm.lead"].flush_model(["create_date"])
        self.env.cr.execute(
            SQL(
                "SELECT id, create_date FROM crm_lead WHERE id = ANY(%s) ORDER BY id",
                pg_array(lead_ids.tolist()),
            )
        )
        at = np.array(
            [
                to_micros(created) + 3_600_000_000
                for _i, created in self.env.cr.fetchall()
            ],
            dtype=np.int64,
        )
        scores = ruleset._prm_scores_at(lead_ids, np.arange(len(lead_ids)), at)
        self.env.cr.execute(
            SQL(
                """
            UPDATE crm_lead l SET prm_first_fit_score = v.fit, prm_first_score = v.total
              FROM unnest(%s, %s, %s) AS v(id, fit, total)
             WHERE l.id = v.id
                """,
                pg_array(lead_ids.tolist()),
                pg_array(scores.fit.tolist(), "numeric"),
                pg_array(scores.total.tolist(), "numeric"),
            )
        )

    @api.model
    def _references(self, profiles):
        """Records the profiles name (sources, countries, tags, ...), created
        when missing, and the stages a prospect goes through."""

        def by_name(model, names, extra=None):
            Model = self.env[model].sudo()
            out = {}
            for name in sorted(set(names) - {""}):
                record = Model.search([("name", "=", name)], limit=1)
                out[name] = record or Model.create({"name": name, **(extra or {})})
            return out

        stages = self.env["crm.stage"].search(
            [("is_won", "=", False)], order="sequence, id", limit=3
        )
        return {
            "source": by_name("utm.source", [p["source"] for p in profiles]),
            "medium": by_name("utm.medium", [p["medium"] for p in profiles]),
            "campaign": by_name("utm.campaign", [p["campaign"] for p in profiles]),
            "industry": by_name(
                "res.partner.industry", [p["industry"] for p in profiles]
            ),
            "tag": by_name("crm.tag", [p["tag"] for p in profiles]),
            "country": {
                c.code: c
                for c in self.env["res.country"].search(
                    [("code", "in", sorted({p["country"] for p in profiles}))]
                )
            },
            "stages": list(stages) + [stages[-1]] * (3 - len(stages)),
            "won": self.env["crm.stage"].search([("is_won", "=", True)], limit=1),
            "team": self.env["crm.team"].search([], order="sequence, id", limit=1),
        }

    @api.model
    def _lead_vals(self, profile, refs):
        return {
            "name": f"{profile['company']}: {profile['name']}",
            "type": "opportunity",
            "contact_name": profile["name"],
            "partner_name": profile["company"],
            "email_from": profile["email"],
            "phone": profile["phone"] or False,
            "function": profile["function"] or False,
            "country_id": refs["country"][profile["country"]].id,
            "source_id": refs["source"][profile["source"]].id,
            "medium_id": refs["medium"][profile["medium"]].id,
            "campaign_id": refs["campaign"][profile["campaign"]].id,
            "prm_industry_id": refs["industry"][profile["industry"]].id,
            "prm_company_size": profile["company_size"],
            "tag_ids": [(6, 0, refs["tag"][profile["tag"]].ids)],
            "team_id": refs["team"].id,
            "stage_id": refs["stages"][0].id,
            "expected_revenue": profile["revenue"],
        }

    @api.model
    def _set_life(self, scenario, lead_of, known, when, refs):
        """Creation dates, the stage at the cutoff, wins and losses."""
        stage_ids = [s.id for s in refs["stages"]]
        final = {}
        moves = scenario.stage_day < scenario.cutoff
        for p, key in zip(
            scenario.stage_prospect[moves].tolist(),
            scenario.stage_key[moves].tolist(),
            strict=True,
        ):
            final[p] = stage_ids[int(key)]
        ids, created, stage, closed, state = [], [], [], [], []
        for i in known:
            won = scenario.won_day[i] <= scenario.cutoff
            lost = scenario.lost_day[i] <= scenario.cutoff
            ids.append(int(lead_of[i]))
            created.append(when(scenario.created[i]).isoformat())
            stage.append(refs["won"].id if won else final.get(i, stage_ids[0]))
            closed.append(
                when(scenario.won_day[i] if won else scenario.lost_day[i]).isoformat()
                if won or lost
                else ""
            )
            state.append("won" if won else ("lost" if lost else "open"))
        self.env.cr.execute(
            SQL(
                """
            UPDATE crm_lead l
               SET create_date = v.created, write_date = v.created,
                   date_open = v.created, stage_id = v.stage,
                   date_closed = v.closed,
                   date_last_stage_update = COALESCE(v.closed, v.created),
                   active = v.state <> 'lost',
                   probability = CASE v.state WHEN 'won' THEN 100
                                              WHEN 'lost' THEN 0
                                              ELSE l.probability END
              FROM unnest(%s, %s, %s, %s, %s)
                   AS v(id, created, stage, closed, state)
             WHERE l.id = v.id
                """,
                pg_array(ids),
                pg_array(created, "timestamp"),
                pg_array(stage),
                SQL(
                    "%s::timestamp[]",
                    "{" + ",".join(c or "NULL" for c in closed) + "}",
                ),
                pg_array(state, "varchar"),
            )
        )

    @api.model
    def _track_stages(self, scenario, lead_of, when, refs):
        """Stage moves before the cutoff (wins included) and losses (the lead
        archived) as Odoo's tracking records them: one message with one
        tracking value each."""
        stage_ids = [s.id for s in refs["stages"]]
        names = {s.id: s.name for s in refs["stages"]}
        names[refs["won"].id] = refs["won"].name
        stage_field = self.env["ir.model.fields"]._get("crm.lead", "stage_id").id
        active_field = self.env["ir.model.fields"]._get("crm.lead", "active").id
        moves = []  # (lead id, date, field id, old, new, old text, new text)
        current = {}
        order = np.argsort(scenario.stage_day, kind="stable")
        closed = np.fmin(scenario.won_day, scenario.lost_day)
        for j in order.tolist():
            day = scenario.stage_day[j]
            p = int(scenario.stage_prospect[j])
            # no move once the lead is won or lost (nor after today)
            if day >= scenario.cutoff or not lead_of[p] or day >= closed[p]:
                continue
            new = stage_ids[int(scenario.stage_key[j])]
            old = current.get(p, stage_ids[0])
            if new != old:
                moves.append(
                    (
                        int(lead_of[p]),
                        when(day),
                        stage_field,
                        old,
                        new,
                        names[old],
                        names[new],
                    )
                )
                current[p] = new
        for p in np.nonzero(scenario.won_day <= scenario.cutoff)[0].tolist():
            if lead_of[p]:
                old = current.get(p, stage_ids[0])
                won = refs["won"].id
                moves.append(
                    (
                        int(lead_of[p]),
                        when(scenario.won_day[p]),
                        stage_field,
                        old,
                        won,
                        names[old],
                        names[won],
                    )
                )
        for p in np.nonzero(scenario.lost_day <= scenario.cutoff)[0].tolist():
            if lead_of[p]:
                moves.append(
                    (
                        int(lead_of[p]),
                        when(scenario.lost_day[p]),
                        active_field,
                        1,
                        0,
                        "",
                        "",
                    )
                )
        if not moves:
            return
        self.env.cr.execute(
            "SELECT nextval('mail_message_id_seq') FROM generate_series(1, %s)",
            [len(moves)],
        )
        message_ids = [row[0] for row in self.env.cr.fetchall()]
        columns = list(zip(*moves, strict=True))
        self.env.cr.execute(
            SQL(
                """
            WITH v AS (
                SELECT * FROM unnest(%s, %s, %s, %s, %s, %s, %s, %s)
                       AS v(id, res_id, date, field, old, new, old_text, new_text)
            ), m AS (
                INSERT INTO mail_message (id, model, res_id, message_type, date,
                    author_id, create_date, write_date, create_uid, write_uid)
                SELECT v.id, 'crm.lead', v.res_id, 'notification', v.date,
                       %s, v.date, v.date, %s, %s
                  FROM v
            )
            INSERT INTO mail_tracking_value (mail_message_id, field_id,
                old_value_integer, new_value_integer, old_value_char,
                new_value_char, create_date, write_date, create_uid, write_uid)
            SELECT v.id, v.field, v.old, v.new, NULLIF(v.old_text, ''),
                   NULLIF(v.new_text, ''), v.date, v.date, %s, %s
              FROM v
                """,
                pg_array(message_ids),
                pg_array(columns[0]),
                pg_array([d.isoformat() for d in columns[1]], "timestamp"),
                pg_array(columns[2]),
                pg_array(columns[3]),
                pg_array(columns[4]),
                list(columns[5]),
                list(columns[6]),
                self.env.user.partner_id.id,
                self.env.uid,
                self.env.uid,
                self.env.uid,
                self.env.uid,
            )
        )

    @api.model
    def _insert_events(self, scenario, lead_of, when, now):
        """The engagement before the cutoff, as stored events."""
        types = {
            t.code: t
            for t in self.env["prm.event.type"].search(
                [("code", "in", list(simulator.EVENT_CODES))]
            )
        }
        site = self.env["prm.tracking.site"].search([], order="id", limit=1)
        rows = []
        for n, (p, day, code, url) in enumerate(scenario.events()):
            if not lead_of[p] or code not in types:
                continue
            rows.append(
                {
                    "event_type_id": types[code].id,
                    "channel": types[code].channel,
                    "occurred_at": when(day),
                    "lead_id": int(lead_of[p]),
                    "origin": "import",
                    "external_id": f"sim-{scenario.seed}-{n}",
                    "url": url or None,
                    "site_id": (site.id or None)
                    if types[code].channel == "web"
                    else None,
                    "is_bot": False,
                    "company_id": self.env.company.id,
                }
            )
        for start in range(0, len(rows), 20000):
            insert_events(self.env.cr, rows[start : start + 20000], self.env.uid, now)
        self.env["prm.event"].invalidate_model()
        # visits, opens, clicks, first and last seen of every lead
        leads = self.env["crm.lead"].browse([int(i) for i in lead_of if i])
        leads._prm_recompute_metrics(now=now)
