# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import io

import numpy as np

from odoo import api, models
from odoo.tools import SQL

from ..engine import features as feat
from ..engine import to_micros
from ..engine.pgcopy import parse_binary_copy
from .crm_lead import ids_condition, pg_array

# attribute field -> (model of its values, for labels) for the id-valued ones
ATTRIBUTE_MODELS = {
    "country": "res.country",
    "source": "utm.source",
    "medium": "utm.medium",
    "campaign": "utm.campaign",
    "team": "crm.team",
    "industry": "res.partner.industry",
    "tag": "crm.tag",
    "interest": "prm.interest",
    "stage": "crm.stage",
}
# attribute field -> crm.lead selection field, for labels
ATTRIBUTE_SELECTIONS = {"company_size": "prm_company_size", "age_band": "prm_age_band"}


class PrmPropensityData(models.AbstractModel):
    """What the conversion model reads of leads: their declared attributes,
    their events, and the feature matrices of snapshots built from them."""

    _name = "prm.propensity.data"
    _description = "PRM Conversion Model Data"

    @api.model
    def _lead_attributes(self, lead_ids):
        """One dict per lead of ``lead_ids`` (in that order): attribute field
        -> value ("" when not set; lists for tags and interests).  Ids of
        related records are kept as text (labels are looked up to explain)."""
        self.env["crm.lead"].flush_model()
        self.env.cr.execute(
            SQL(
                """
            SELECT l.id, l.country_id, l.source_id, l.medium_id, l.campaign_id,
                   l.team_id, l.prm_industry_id, l.prm_company_size, l.function,
                   l.email_from, COALESCE(NULLIF(l.phone, ''), l.mobile),
                   l.prm_age_band,
                   ARRAY(SELECT t.tag_id FROM crm_tag_rel t
                          WHERE t.lead_id = l.id ORDER BY 1),
                   ARRAY(SELECT i.prm_interest_id FROM crm_lead_prm_interest_rel i
                          WHERE i.crm_lead_id = l.id ORDER BY 1)
              FROM crm_lead l
             WHERE %s
                """,
                ids_condition(SQL("l.id"), [int(i) for i in lead_ids]),
            )
        )

        def text(value):
            return "" if value in (None, False) else str(value)

        by_id = {}
        for row in self.env.cr.fetchall():
            by_id[row[0]] = {
                "country": text(row[1]),
                "source": text(row[2]),
                "medium": text(row[3]),
                "campaign": text(row[4]),
                "team": text(row[5]),
                "industry": text(row[6]),
                "company_size": text(row[7]),
                "function": feat.normalize_function(row[8]),
                "seniority": feat.seniority(row[8]),
                "email_kind": feat.email_kind(row[9]),
                "phone": "yes" if row[10] else "no",
                "age_band": text(row[11]),
                "tag": [str(t) for t in row[12]],
                "interest": [str(i) for i in row[13]],
            }
        return [by_id.get(int(i), {}) for i in lead_ids]

    @api.model
    def _event_rows(self, lead_ids):
        """Non-bot events of these leads: lead id, instant, feature kind."""
        self.env["prm.event"].flush_model()
        kinds = {
            type_id: feat.kind_of(code)
            for type_id, code in self.env["prm.event.type"]._codes_by_id().items()
        }
        type_ids = [t for t, kind in kinds.items() if kind >= 0]
        query = SQL(
            """
            COPY (
                SELECT e.lead_id, e.occurred_at, e.event_type_id
                  FROM prm_event e
                 WHERE %s AND e.is_bot IS NOT TRUE AND e.event_type_id = ANY(%s)
            ) TO STDOUT (FORMAT binary)
            """,
            ids_condition(SQL("e.lead_id"), [int(i) for i in lead_ids]),
            pg_array(type_ids or [0]),
        )
        buffer = io.BytesIO()
        self.env.cr.copy_expert(self.env.cr.mogrify(query).decode(), buffer)
        rows = parse_binary_copy(
            buffer.getvalue(), [("lead", "int4"), ("at", "timestamp"), ("type", "int4")]
        )
        lookup = np.zeros(max(kinds, default=0) + 1, dtype=np.int64) - 1
        for type_id, kind in kinds.items():
            lookup[type_id] = kind
        rows["kind"] = lookup[rows["type"]]
        return rows

    @api.model
    def _features(
        self,
        ruleset,
        lead_ids,
        created,
        snap_lead,
        snap_at,
        columns,
        scores=None,
        now=False,
        attributes=None,
        stages=None,
    ):
        """Features of snapshots (lead index, instant) of ``lead_ids``
        (sorted): ``(dense, cats, counts)`` with the numeric matrix, the
        one-hot attributes in ``columns`` order and the raw event counts.
        The scores at each instant are computed unless given (``scores``,
        for these very instants), and so are the leads' attributes and the
        snapshots' stages (``attributes``, ``stages``: as
        :meth:`_lead_attributes` and :meth:`_stage_values` return them);
        ``now``: the instants are the present."""
        lead_ids = np.asarray(lead_ids, dtype=np.int64)
        if scores is None and len(snap_lead):
            scores = ruleset._prm_scores_at(lead_ids, snap_lead, snap_at)
        ev = self._event_rows(lead_ids)
        block, counts = feat.event_features(
            snap_lead,
            snap_at,
            np.searchsorted(lead_ids, ev["lead"]),
            ev["at"],
            ev["kind"],
        )
        age = (np.asarray(snap_at) - np.asarray(created)[snap_lead]) / feat.DAY_US
        n = len(snap_lead)
        dense = feat.assemble(
            block,
            age,
            scores.fit if n else np.zeros(0),
            scores.engagement if n else np.zeros(0),
        )
        if attributes is None:
            attributes = self._lead_attributes(lead_ids)
        if stages is None:
            stages = self._stage_values(
                self._stages_at(
                    lead_ids[np.asarray(snap_lead, dtype=np.int64)],
                    np.asarray(snap_at, dtype=np.int64),
                    now=now,
                )
            )
        cats = feat.encode(attributes, columns)[
            np.asarray(snap_lead, dtype=np.int64)
        ] + feat.encode(stages, columns)
        return dense, cats, counts

    @api.model
    def _stage_values(self, stage_ids):
        """``{"stage": id}`` of each snapshot, from its stage id (as
        :meth:`_stages_at` returns them): the attribute the model one-hots."""
        return [{"stage": str(s) if s else ""} for s in stage_ids]

    @api.model
    def _stages_at(self, lead_ids, at, now=False):
        """Stage id of each lead at each instant (µs), from the stage
        tracking: the last change before the instant, else the stage before
        the first change, else the current stage (always, when ``now``: the
        instants are the present).  The lead was open then: a won stage (a
        move without tracking) reads as the first open stage."""
        lead_ids = np.asarray(lead_ids, dtype=np.int64)
        ids = sorted(set(lead_ids.tolist()))
        c_lead, c_at, c_old, c_new = [], [], [], []
        if not now:
            field = self.env["ir.model.fields"]._get("crm.lead", "stage_id")
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
            for res_id, date, old, new in self.env.cr.fetchall():
                c_lead.append(res_id)
                c_at.append(to_micros(date))
                c_old.append(old or 0)
                c_new.append(new or 0)
        self.env.cr.execute(
            SQL(
                "SELECT id, stage_id FROM crm_lead WHERE %s",
                ids_condition(SQL("id"), ids),
            )
        )
        current = dict(self.env.cr.fetchall())
        stages = np.array([current.get(i) or 0 for i in lead_ids.tolist()])
        if c_lead:
            # the last change at or before each instant, per lead: one sorted
            # key per (lead, second) as for the event features
            c_lead = np.array(c_lead, dtype=np.int64)
            c_s = np.array(c_at, dtype=np.int64) // 1_000_000
            at_s = np.asarray(at, dtype=np.int64) // 1_000_000
            base = min(c_s.min(), at_s.min())
            span = int(max(c_s.max(), at_s.max()) - base + 2)
            keys = c_lead * span + (c_s - base)
            pos = np.searchsorted(keys, lead_ids * span + (at_s - base), side="right")
            first = np.searchsorted(c_lead, lead_ids, side="left")
            has = (first < len(c_lead)) & (
                c_lead[np.minimum(first, len(c_lead) - 1)] == lead_ids
            )
            before = has & (pos > first)
            c_old, c_new = np.array(c_old), np.array(c_new)
            stages = np.where(
                before,
                c_new[np.maximum(pos - 1, 0)],
                np.where(has, c_old[np.minimum(first, len(c_lead) - 1)], stages),
            )
        self.env["crm.stage"].flush_model(["is_won", "sequence"])
        self.env.cr.execute(
            SQL("SELECT id, is_won FROM crm_stage ORDER BY sequence, id")
        )
        all_stages = self.env.cr.fetchall()
        won_stages = [sid for sid, is_won in all_stages if is_won]
        first_open = next((sid for sid, is_won in all_stages if not is_won), 0)
        stages = np.where(
            (stages == 0) | np.isin(stages, won_stages), first_open, stages
        )
        return [int(s) or False for s in stages]

    @api.model
    def _group_labels(self):
        """Names of the groups of features a probability is explained by."""
        return {
            "view": self.env._("Page views"),
            "open": self.env._("Email opens"),
            "click": self.env._("Email clicks and replies"),
            "form": self.env._("Forms, registrations and downloads"),
            "talk": self.env._("Calls and meetings"),
            "recency": self.env._("Last activity"),
            "rhythm": self.env._("Rhythm of activity"),
            "age": self.env._("Age of the lead"),
            "fit": self.env._("Fit score"),
            "engagement": self.env._("Engagement score"),
            "country": self.env._("Country"),
            "source": self.env._("Source"),
            "medium": self.env._("Medium"),
            "campaign": self.env._("Campaign"),
            "team": self.env._("Sales team"),
            "industry": self.env._("Industry"),
            "company_size": self.env._("Company size"),
            "function": self.env._("Job position"),
            "seniority": self.env._("Seniority"),
            "email_kind": self.env._("Email address"),
            "phone": self.env._("Phone given"),
            "age_band": self.env._("Age band"),
            "tag": self.env._("Tag"),
            "interest": self.env._("Interest"),
            "stage": self.env._("Stage"),
        }

    @api.model
    def _attribute_value_label(self, field, value):
        """A person's words for one attribute value ("Google Ads", "yes")."""
        if value == "":
            return self.env._("not set")
        if field in ATTRIBUTE_MODELS:
            record = (
                self.env[ATTRIBUTE_MODELS[field]].sudo().browse(int(value)).exists()
            )
            return record.display_name if record else value
        if field in ATTRIBUTE_SELECTIONS:
            selection = self.env["crm.lead"]._fields[ATTRIBUTE_SELECTIONS[field]]
            return dict(selection._description_selection(self.env)).get(value, value)
        words = {
            ("phone", "yes"): self.env._("yes"),
            ("phone", "no"): self.env._("no"),
            ("email_kind", "free"): self.env._("free email provider"),
            ("email_kind", "business"): self.env._("company domain"),
            ("seniority", "executive"): self.env._("executive"),
            ("seniority", "director"): self.env._("director"),
            ("seniority", "manager"): self.env._("manager"),
            ("seniority", "individual"): self.env._("individual contributor"),
            ("seniority", "other"): self.env._("other"),
        }
        return words.get((field, value), value)
