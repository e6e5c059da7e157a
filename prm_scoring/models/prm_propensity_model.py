# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import bisect
import io
import logging

import numpy as np
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..engine import at_snapshots, from_micros, score_batch, to_micros
from ..engine import propensity as prop
from ..engine.pgcopy import parse_binary_copy
from .crm_lead import ids_condition, pg_array

_logger = logging.getLogger(__name__)


# what training computes: never written by anything else
MODEL_FIELDS = {"params", "calibration", "auc", "brier", "base_rate", "state"}


class PrmPropensityModel(models.Model):
    """A company's calibrated short-term conversion model and its model card.

    Trained from the company's own history (weekly, or on demand): each lead
    as it was at several moments, labelled by whether it was won within the
    rule set's horizon.  The newest trained model of a company is the active
    one; earlier ones stay archived for comparison."""

    _name = "prm.propensity.model"
    _description = "PRM Conversion Model"
    _order = "company_id, trained_at desc, id desc"

    name = fields.Char(compute="_compute_name", store=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    state = fields.Selection(
        [("trained", "Trained"), ("not_enough_data", "Not enough data")],
        required=True,
        readonly=True,
    )
    message = fields.Text(readonly=True)
    trained_at = fields.Datetime(readonly=True)
    horizon_days = fields.Integer(readonly=True, help="P(won within this many days).")
    ruleset_id = fields.Many2one(
        "prm.scoring.ruleset", readonly=True, ondelete="set null"
    )
    window_start = fields.Datetime(
        string="Oldest snapshot", readonly=True, help="Training window start."
    )
    window_end = fields.Datetime(
        string="Newest snapshot", readonly=True, help="Training window end."
    )
    lead_count = fields.Integer(string="Leads", readonly=True)
    sample_size = fields.Integer(string="Snapshots", readonly=True)
    fit_size = fields.Integer(string="Fitted on", readonly=True)
    calibration_size = fields.Integer(string="Calibrated on", readonly=True)
    validation_size = fields.Integer(string="Validated on", readonly=True)
    positives = fields.Integer(string="Conversions", readonly=True)
    base_rate = fields.Float(
        string="Base rate (%)",
        readonly=True,
        digits=(5, 2),
        help="Share of snapshots converted within the horizon (training part).",
    )
    auc = fields.Float(
        string="AUC",
        readonly=True,
        digits=(4, 3),
        help="Validation: chance that a converting snapshot gets a higher "
        "probability than a non-converting one (0.5 = chance, 1 = perfect).",
    )
    brier = fields.Float(
        string="Brier score",
        readonly=True,
        digits=(6, 4),
        help="Validation: mean squared error of the probabilities (lower is "
        "better).",
    )
    base_rate_brier = fields.Float(
        string="Brier of the base rate",
        readonly=True,
        digits=(6, 4),
        help="Brier score of always predicting the base rate, for reference.",
    )
    log_loss = fields.Float(readonly=True, digits=(6, 4))
    pls_auc = fields.Float(string="Odoo PLS: AUC", readonly=True, digits=(4, 3))
    pls_brier = fields.Float(
        string="Odoo PLS: Brier score", readonly=True, digits=(6, 4)
    )
    pls_coverage = fields.Float(
        string="Odoo PLS: share scored",
        readonly=True,
        digits=(5, 2),
        help="Share (%) of the validation snapshots Odoo's predictive lead "
        "scoring gave a probability (it needs won and lost history per team).",
    )
    params = fields.Json(readonly=True)
    calibration = fields.Json(readonly=True)
    model_card = fields.Html(compute="_compute_model_card", sanitize=False)

    @api.depends("company_id", "trained_at")
    def _compute_name(self):
        for model in self:
            model.name = self.env._(
                "Conversion model %(company)s %(date)s",
                company=model.company_id.name or "",
                date=fields.Date.to_string(model.trained_at)
                if model.trained_at
                else "",
            )

    # ------------------------------------------------------------------
    # TRAINING
    # ------------------------------------------------------------------

    @api.model
    def _cron_train(self):
        """Weekly: train a model for every company with an active rule set."""
        rulesets = (
            self.env["prm.scoring.ruleset"].sudo().search([("active", "=", True)])
        )
        for ruleset in rulesets:
            self.sudo()._train(ruleset)

    def action_train(self):
        """Train a model for the current company now and open it."""
        self.check_access("create")
        ruleset = self.env["prm.scoring.ruleset"]._get_active()
        if not ruleset:
            model = (
                self.sudo()
                .with_context(prm_training=True)
                .create(
                    {
                        "state": "not_enough_data",
                        "message": self.env._(
                            "The company has no active scoring rule set."
                        ),
                        "trained_at": fields.Datetime.now(),
                        "active": False,
                    }
                )
            )
        else:
            model = self.sudo()._train(ruleset)
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": model.id,
            "view_mode": "form",
            "target": "current",
        }

    @api.model_create_multi
    def create(self, vals_list):
        """A model is made by training, never by hand: its parameters are
        what every rescore evaluates."""
        if not self.env.context.get("prm_training") and any(
            MODEL_FIELDS & set(vals) for vals in vals_list
        ):
            raise UserError(self.env._("Conversion models are made by training."))
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.context.get("prm_training") and MODEL_FIELDS & set(vals):
            raise UserError(
                self.env._("A trained model cannot be changed; train a new one.")
            )
        return super().write(vals)

    @api.model
    def _train(self, ruleset, now=None):
        """Train, judge and store a model of ``ruleset``'s company; it becomes
        the active one only when it could be trained."""
        now = now or fields.Datetime.now()
        horizon = ruleset.horizon_days
        vals = {
            "company_id": ruleset.company_id.id,
            "ruleset_id": ruleset.id,
            "horizon_days": horizon,
            "trained_at": now,
        }
        data = self._training_data(ruleset, now)
        vals["lead_count"] = data["lead_count"]
        vals["sample_size"] = len(data["y"])
        try:
            result = prop.train(data["X"], data["y"], data["at"])
        except prop.NotEnoughData as exc:
            vals.update(
                state="not_enough_data",
                message=self.env._(
                    "%(why)s The history has %(n)s snapshots of %(leads)s leads "
                    "with %(pos)s conversions within %(days)s days. Probabilities "
                    "are not shown until a model can be trained and checked.",
                    why=str(exc),
                    n=len(data["y"]),
                    leads=data["lead_count"],
                    pos=int(np.sum(data["y"])),
                    days=horizon,
                ),
                active=False,
            )
            return self.with_context(prm_training=True).create(vals).with_env(self.env)
        valid = result["validation"]
        at = data["at"]
        vals.update(
            state="trained",
            message=False,
            window_start=from_micros(int(at.min())),
            window_end=from_micros(int(at.max())),
            fit_size=result["sizes"]["fitting"],
            calibration_size=result["sizes"]["calibration"],
            validation_size=result["sizes"]["validation"],
            positives=result["sizes"]["positives"],
            base_rate=100.0 * result["base_rate"],
            auc=valid["auc"] or 0.0,
            brier=valid["brier"],
            base_rate_brier=result["base_rate_brier"],
            log_loss=valid["log_loss"],
            params={
                key: result[key]
                for key in ("mean", "scale", "coef", "intercept", "iso_x", "iso_y")
            },
            calibration=result["calibration"],
        )
        vals.update(self._pls_comparison(data, result))
        self.search([("company_id", "=", ruleset.company_id.id)]).active = False
        model = self.with_context(prm_training=True).create(vals).with_env(self.env)
        _logger.info(
            "PRM conversion model for %s: %s snapshots, AUC %.3f, Brier %.4f",
            ruleset.company_id.name,
            vals["sample_size"],
            model.auc,
            model.brier,
        )
        # every lead gets its probability from the new model
        self.env["prm.scoring.ruleset"]._prm_trigger_rescore()
        return model

    def _training_data(self, ruleset, now):
        """Snapshots of the company's leads: features ``X``, outcomes ``y``,
        instants ``at`` (µs), plus what the PLS comparison needs."""
        company = ruleset.company_id
        now_us = to_micros(now)
        self.env["crm.lead"].flush_model()
        self.env.cr.execute(
            SQL(
                """
            SELECT id, create_date,
                   CASE WHEN active AND probability = 100
                        THEN COALESCE(date_closed, write_date) END,
                   CASE WHEN (active AND probability = 100)
                          OR (NOT active AND probability = 0)
                        THEN COALESCE(date_closed, write_date) END
              FROM crm_lead
             WHERE COALESCE(company_id, %s) = %s AND create_date IS NOT NULL
          ORDER BY id
                """,
                self.env.company.id,
                company.id,
            )
        )
        rows = self.env.cr.fetchall()
        lead_ids = np.array([r[0] for r in rows], dtype=np.int64)
        created = np.array([to_micros(r[1]) for r in rows], dtype=np.int64)
        won = np.array([to_micros(r[2]) if r[2] else -1 for r in rows], dtype=np.int64)
        closed = np.array(
            [to_micros(r[3]) if r[3] else -1 for r in rows], dtype=np.int64
        )
        snap_lead, snap_at = prop.snapshots(
            created, closed, now_us, ruleset.horizon_days
        )
        y = prop.labels(won, snap_lead, snap_at, ruleset.horizon_days)
        X = self._features(ruleset, lead_ids, created, snap_lead, snap_at)
        return {
            "lead_count": len(lead_ids),
            "lead_ids": lead_ids,
            "snap_lead": snap_lead,
            "X": X,
            "y": y,
            "at": snap_at,
        }

    @api.model
    def _features(self, ruleset, lead_ids, created, snap_lead, snap_at, scores=None):
        """Feature matrix of snapshots (lead index, instant) of ``lead_ids``
        (sorted): scores at each instant (``scores`` if already computed for
        these very instants) and counts of the events before it."""
        if not len(snap_lead):
            return np.zeros((0, len(prop.FEATURES)))
        if scores is None:
            rules = ruleset.sudo().rule_ids.filtered("active")
            fit_rules = rules.filtered(lambda r: r.kind == "fit")
            fit, matches = at_snapshots(
                ruleset._prm_fit_matches(lead_ids, fit_rules),
                ruleset._prm_engagement_matches(lead_ids, rules - fit_rules),
                snap_lead,
                snap_at,
            )
            scores = score_batch(
                len(snap_lead), fit, matches, ruleset._engine_settings(), snap_at
            )
        ev = self._event_rows(lead_ids)
        counts = prop.event_counts(
            snap_lead,
            snap_at,
            np.searchsorted(lead_ids, ev["lead"]),
            ev["at"],
            ev["kind"],
        )
        age = (snap_at - np.asarray(created)[snap_lead]) / prop.DAY_US
        return prop.assemble(scores.fit, scores.engagement, counts, age)

    def _event_rows(self, lead_ids):
        """Non-bot events of these leads: lead id, instant, feature kind."""
        self.env["prm.event"].flush_model()
        kinds = {
            t.id: prop.kind_of(t.code)
            for t in self.env["prm.event.type"]
            .with_context(active_test=False)
            .search([])
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
            ids_condition(SQL("e.lead_id"), lead_ids.tolist()),
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

    # ------------------------------------------------------------------
    # PREDICTING
    # ------------------------------------------------------------------

    @api.model
    def _get_active(self, company):
        return self.sudo().search(
            [("company_id", "=", company.id), ("state", "=", "trained")], limit=1
        )

    def _predict(self, ruleset, lead_ids, scores, now):
        """Calibrated probabilities (0-100) of these leads (sorted ids) now,
        their scores at ``now`` being ``scores``."""
        self.ensure_one()
        lead_ids = np.asarray(lead_ids, dtype=np.int64)
        self.env.cr.execute(
            SQL(
                "SELECT id, create_date FROM crm_lead WHERE %s ORDER BY id",
                ids_condition(SQL("id"), lead_ids.tolist()),
            )
        )
        created_of = dict(self.env.cr.fetchall())
        created = np.array(
            [to_micros(created_of.get(i) or now) for i in lead_ids.tolist()],
            dtype=np.int64,
        )
        snap_lead = np.arange(len(lead_ids))
        snap_at = np.full(len(lead_ids), to_micros(now), dtype=np.int64)
        X = self._features(ruleset, lead_ids, created, snap_lead, snap_at, scores)
        return np.round(100.0 * prop.predict(self.params, X), 2)

    # ------------------------------------------------------------------
    # ODOO'S OWN PREDICTIVE LEAD SCORING, ON THE SAME VALIDATION SET
    # ------------------------------------------------------------------

    def _pls_comparison(self, data, result):
        """AUC and Brier score of Odoo's predictive lead scoring (naive Bayes)
        on the validation snapshots, each lead taken in the stage it was in at
        the snapshot's instant (from the stage tracking)."""
        valid = np.asarray(result["valid_index"], dtype=np.int64)
        if not len(valid):
            return {}
        lead_ids = data["lead_ids"][data["snap_lead"][valid]]
        at = data["at"][valid]
        y = data["y"][valid]
        stages = self._stages_at(lead_ids, at)
        Lead = self.env["crm.lead"].sudo().with_context(active_test=False)
        pls_fields = [f for f in Lead._pls_get_safe_fields() if f != "tag_ids"]
        use_tags = "tag_ids" in Lead._pls_get_safe_fields()
        leads = Lead.browse(sorted(set(lead_ids.tolist())))
        base = {
            lead.id: (
                lead.team_id.id,
                tuple(
                    lead[f].id if isinstance(lead[f], models.BaseModel) else lead[f]
                    for f in pls_fields
                ),
                tuple(lead.tag_ids.ids) if use_tags else (),
            )
            for lead in leads
        }
        keys = [
            (stage, *base[lead_id])
            for lead_id, stage in zip(lead_ids.tolist(), stages, strict=True)
        ]
        # Odoo computes one probability per distinct combination of values
        combos = {key: None for key in keys}
        records = Lead.browse()
        for stage, team, values, tags in combos:
            vals = {"stage_id": stage, "team_id": team, "tag_ids": [(6, 0, list(tags))]}
            vals.update(dict(zip(pls_fields, values, strict=True)))
            records |= Lead.new(vals)
        probabilities = records._pls_get_naive_bayes_probabilities()
        for key, record in zip(combos, records, strict=True):
            combos[key] = probabilities.get(record.id)
        pls = np.array(
            [np.nan if combos[k] is None else combos[k] / 100.0 for k in keys]
        )
        scored = ~np.isnan(pls)
        out = {"pls_coverage": 100.0 * scored.mean()}
        if scored.any():
            m = prop.metrics(pls[scored], y[scored])
            out.update(pls_auc=m["auc"] or 0.0, pls_brier=m["brier"])
        return out

    def _stages_at(self, lead_ids, at):
        """Stage id of each lead at each instant (µs), from the stage
        tracking: the last change before the instant, else the stage before
        the first change, else the current stage."""
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
        current = {
            lead.id: lead.stage_id.id
            for lead in self.env["crm.lead"]
            .sudo()
            .with_context(active_test=False)
            .browse(ids)
        }
        # the lead was open then: never in a won stage (e.g. moved without
        # tracking); take the first open stage instead
        won_stages = set(self.env["crm.stage"].search([("is_won", "=", True)]).ids)
        first_open = self.env["crm.stage"].search(
            [("is_won", "=", False)], order="sequence, id", limit=1
        )
        stages = []
        for lead_id, moment in zip(lead_ids.tolist(), at.tolist(), strict=True):
            history = changes.get(lead_id)
            if not history:
                stage = current[lead_id]
            else:
                i = bisect.bisect_right([h[0] for h in history], moment)
                stage = history[i - 1][2] if i else history[0][1]
            if not stage or stage in won_stages:
                stage = first_open.id
            stages.append(stage or False)
        return stages

    # ------------------------------------------------------------------
    # MODEL CARD
    # ------------------------------------------------------------------

    @api.depends("params", "calibration", "state")
    def _compute_model_card(self):
        for model in self:
            model.model_card = (
                model._render_card() if model.state == "trained" else False
            )

    def _render_card(self):
        rows = Markup("").join(
            Markup(
                "<tr><td class='text-end'>%s</td><td class='text-end'>%s</td>"
                "<td class='text-end'>%s</td></tr>"
            )
            % (
                row["count"],
                f"{100 * row['predicted']:.1f} %",
                f"{100 * row['observed']:.1f} %",
            )
            for row in self.calibration or []
        )
        calibration = Markup(
            "<h5>%s</h5><p class='text-muted'>%s</p><table class='table table-sm'>"
            "<thead><tr><th class='text-end'>%s</th><th class='text-end'>%s</th>"
            "<th class='text-end'>%s</th></tr></thead><tbody>%s</tbody></table>"
        ) % (
            self.env._("Calibration on the validation snapshots"),
            self.env._(
                "Snapshots sorted by predicted probability, in ten groups: a "
                "calibrated model predicts what then happens."
            ),
            self.env._("Snapshots"),
            self.env._("Predicted"),
            self.env._("Observed"),
            rows,
        )
        params = self.params or {}
        labels = dict(prop.FEATURES)
        weights = Markup("").join(
            Markup("<tr><td>%s</td><td class='text-end'>%s</td></tr>")
            % (labels[name], f"{coef:+.3f}")
            for (name, _label), coef in sorted(
                zip(prop.FEATURES, params.get("coef", []), strict=False),
                key=lambda item: -abs(item[1]),
            )
        )
        features = Markup(
            "<h5>%s</h5><p class='text-muted'>%s</p><table class='table table-sm'>"
            "<tbody>%s</tbody></table>"
        ) % (
            self.env._("What the model looks at"),
            self.env._(
                "Weights on standardised features (logistic regression): a "
                "positive weight raises the probability. Features of a snapshot "
                "use only what had happened before it; the fit score uses the "
                "lead's current data."
            ),
            weights,
        )
        notes = Markup("<h5>%s</h5><ul><li>%s</li><li>%s</li><li>%s</li></ul>") % (
            self.env._("How it was built"),
            self.env._(
                "Each lead is taken as it was at 0, 7, 30 and 90 days of age "
                "(while still open and at least %(days)s days ago), labelled by "
                "whether it was won in the next %(days)s days.",
                days=self.horizon_days,
            ),
            self.env._(
                "The oldest snapshots fit the model, the next ones calibrate "
                "it (isotonic regression), the most recent quarter checks it: "
                "the figures above are out of time, never on data it learned from."
            ),
            self.env._(
                "Odoo's predictive lead scoring is scored on the same validation "
                "snapshots with each lead in the stage it was then; it estimates "
                "the chance to be won at all, not within the horizon, and its "
                "frequency table has seen every closed lead, validation ones included."
            ),
        )
        return calibration + features + notes
