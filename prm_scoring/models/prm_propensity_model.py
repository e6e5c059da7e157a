# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

import numpy as np

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..engine import evaluation, from_micros, to_micros
from ..engine import features as feat
from ..engine import propensity as prop
from .crm_lead import ids_condition

_logger = logging.getLogger(__name__)


# what training computes: never written by anything else
# what anyone may change on a model: everything else is what training found
EDITABLE_FIELDS = {"active"}
BOOTSTRAP_ROWS = 50_000  # validation rows resampled for the AUC intervals


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
    ece = fields.Float(
        string="ECE",
        readonly=True,
        digits=(5, 3),
        help="Expected calibration error on the validation snapshots: the "
        "mean gap between predicted and observed conversion rates (0 = "
        "perfectly calibrated).",
    )
    auc_low = fields.Float(string="AUC, 95% low", readonly=True, digits=(4, 3))
    auc_high = fields.Float(string="AUC, 95% high", readonly=True, digits=(4, 3))
    lift = fields.Json(readonly=True)
    pls_auc = fields.Float(string="Odoo PLS: AUC", readonly=True, digits=(4, 3))
    pls_brier = fields.Float(
        string="Odoo PLS: Brier score", readonly=True, digits=(6, 4)
    )
    pls_ece = fields.Float(string="Odoo PLS: ECE", readonly=True, digits=(5, 3))
    auc_pls_rows = fields.Float(
        string="AUC on the snapshots PLS scored",
        readonly=True,
        digits=(4, 3),
        help="This model's AUC on the validation snapshots Odoo's PLS gave a "
        "probability to: the rows its AUC is measured on.",
    )
    pls_fields = fields.Char(
        string="Odoo PLS: fields used",
        readonly=True,
        help="The lead fields Odoo's predictive lead scoring was set to use "
        "(CRM settings), besides the stage and the team.",
    )
    pls_calibration = fields.Json(readonly=True)
    pls_lift = fields.Json(readonly=True)
    pls_auc_low = fields.Float(
        string="Odoo PLS: AUC, 95% low", readonly=True, digits=(4, 3)
    )
    pls_auc_high = fields.Float(
        string="Odoo PLS: AUC, 95% high", readonly=True, digits=(4, 3)
    )
    diff_low = fields.Float(
        string="AUC difference, 95% low",
        readonly=True,
        digits=(4, 3),
        help="AUC of this model minus Odoo PLS's, bootstrap 95% interval.",
    )
    diff_high = fields.Float(
        string="AUC difference, 95% high", readonly=True, digits=(4, 3)
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
        if not self._prm_training() and any(
            set(vals) - EDITABLE_FIELDS - {"company_id"} for vals in vals_list
        ):
            raise UserError(self.env._("Conversion models are made by training."))
        return super().create(vals_list)

    def write(self, vals):
        if not self._prm_training() and set(vals) - EDITABLE_FIELDS:
            raise UserError(
                self.env._("A trained model cannot be changed; train a new one.")
            )
        return super().write(vals)

    def _prm_training(self):
        """Whether this is the training itself writing: a superuser
        environment flagged by the training code (a client's context flag
        alone does not make it so)."""
        return self.env.su and bool(self.env.context.get("prm_training"))

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
            result = prop.train(
                data["dense"],
                data["cats"],
                data["columns"],
                data["y"],
                data["at"],
                horizon_days=horizon,
            )
        except prop.NotEnoughData as exc:
            vals.update(
                state="not_enough_data",
                message=self.env._(
                    "The %(part)s part of the history has %(part_pos)s "
                    "conversions and %(part_neg)s non-conversions; at least "
                    "%(least)s of each are needed. The history has %(n)s "
                    "snapshots of %(leads)s leads with %(pos)s conversions "
                    "within %(days)s days. Probabilities are not shown until a "
                    "model can be trained and checked.",
                    part=self._part_name(exc.args[0]),
                    part_pos=exc.args[1],
                    part_neg=exc.args[2],
                    least=exc.args[3],
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
        y_valid = data["y"][result["valid_index"]]
        p_valid = result["valid_predictions"]
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
            ece=valid["ece"],
            base_rate_brier=result["base_rate_brier"],
            log_loss=valid["log_loss"],
            params=result["params"],
            calibration=evaluation.reliability(p_valid, y_valid),
            lift=evaluation.lift(p_valid, y_valid),
        )
        vals.update(self._pls_comparison(data, result))
        self.search([("company_id", "=", ruleset.company_id.id)]).active = False
        model = self.with_context(prm_training=True).create(vals).with_env(self.env)
        _logger.info(
            "PRM conversion model for %s: %s snapshots, AUC %.3f, Brier %.4f, "
            "ECE %.3f; Odoo PLS AUC %.3f",
            ruleset.company_id.name,
            vals["sample_size"],
            model.auc,
            model.brier,
            model.ece,
            model.pls_auc,
        )
        # every lead gets its probability from the new model
        self.env["prm.scoring.ruleset"]._prm_trigger_rescore()
        return model

    def _part_name(self, part):
        return {
            "fitting": self.env._("fitting"),
            "calibration": self.env._("calibration"),
            "validation": self.env._("validation"),
        }.get(part, part)

    def _training_data(self, ruleset, now):
        """Snapshots of the company's leads: features (``dense``, ``cats`` of
        ``columns``), outcomes ``y``, instants ``at`` (µs), plus what the PLS
        comparison needs."""
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
        Data = self.env["prm.propensity.data"]
        # read once: the vocabulary and the features both need them
        attributes = Data._lead_attributes(lead_ids)
        stage_ids = Data._stages_at(lead_ids[snap_lead], snap_at)
        stages = Data._stage_values(stage_ids)
        columns = feat.vocabulary(attributes + stages)
        dense, cats, _counts = Data._features(
            ruleset,
            lead_ids,
            created,
            snap_lead,
            snap_at,
            columns,
            attributes=attributes,
            stages=stages,
        )
        return {
            "lead_count": len(lead_ids),
            "lead_ids": lead_ids,
            "snap_lead": snap_lead,
            "dense": dense,
            "cats": cats,
            "columns": columns,
            "stage_ids": stage_ids,
            "y": y,
            "at": snap_at,
        }

    # ------------------------------------------------------------------
    # PREDICTING
    # ------------------------------------------------------------------

    @api.model
    def _get_active(self, company):
        """The company's model in use: the newest trained one, if it was
        trained by this version of the model."""
        model = self.sudo().search(
            [("company_id", "=", company.id), ("state", "=", "trained")], limit=1
        )
        return (
            model
            if (model.params or {}).get("version") == prop.VERSION
            else model.browse()
        )

    def _now_features(self, ruleset, lead_ids, now, scores=None, attributes=None):
        """Features of these leads (sorted ids) now: ``(dense, cats, counts)``
        (their scores and attributes read unless given)."""
        lead_ids = np.asarray(lead_ids, dtype=np.int64)
        self.env.cr.execute(
            SQL(
                "SELECT id, create_date FROM crm_lead WHERE %s",
                ids_condition(SQL("id"), lead_ids.tolist()),
            )
        )
        created_of = dict(self.env.cr.fetchall())
        created = np.array(
            [to_micros(created_of.get(i) or now) for i in lead_ids.tolist()],
            dtype=np.int64,
        )
        return self.env["prm.propensity.data"]._features(
            ruleset,
            lead_ids,
            created,
            np.arange(len(lead_ids)),
            np.full(len(lead_ids), to_micros(now), dtype=np.int64),
            self.params["columns"],
            scores,
            now=True,
            attributes=attributes,
        )

    def _predict(self, ruleset, lead_ids, scores, now):
        """Calibrated probabilities (0-100) of these leads (sorted ids) now,
        their scores at ``now`` being ``scores``."""
        self.ensure_one()
        dense, cats, _counts = self._now_features(ruleset, lead_ids, now, scores)
        return np.round(100.0 * prop.predict(self.params, dense, cats), 2)

    def _factors(self, ruleset, lead, now, limit=6):
        """What moves this lead's probability most, up or down, against an
        average lead: a list of dicts (label, value, odds factor, up)."""
        self.ensure_one()
        attributes = self.env["prm.propensity.data"]._lead_attributes([lead.id])
        dense, cats, counts = self._now_features(
            ruleset, [lead.id], now, attributes=attributes
        )
        groups, matrix = prop.contributions(self.params, dense, cats)
        labels = self.env["prm.propensity.data"]._group_labels()
        order = np.argsort(-np.abs(matrix[0]), kind="stable")
        values = self._factor_values(attributes[0], dense[0], counts[0])
        factors = []
        for i in order[:limit]:
            effect = float(matrix[0][i])
            if abs(effect) < 0.01:
                break
            factors.append(
                {
                    "label": labels.get(groups[i], groups[i]),
                    "value": values.get(groups[i], ""),
                    "odds": float(np.exp(effect)),
                    "up": effect > 0,
                }
            )
        return factors

    def _factor_values(self, attributes, dense, counts):
        """What the lead shows for each group of features, in words."""
        names = feat.NUMERIC_NAMES
        values = {}
        w30, w_ever = feat.WINDOWS.index(30), feat.WINDOWS.index(None)
        for k, kind in enumerate(feat.KIND_NAMES):
            values[kind] = self.env._(
                "%(recent)s in the last 30 days, %(total)s in all",
                recent=int(counts[k][w30]),
                total=int(counts[k][w_ever]),
            )
        if dense[names.index("never_engaged")]:
            values["recency"] = self.env._("no activity yet")
        else:
            values["recency"] = self.env._(
                "%(days)s days ago",
                days=int(round(np.expm1(dense[names.index("recency")]))),
            )
        values["rhythm"] = self.env._(
            "%(days)s active days in the last 30",
            days=int(round(np.expm1(dense[names.index("active_days_30")]))),
        )
        values["age"] = self.env._(
            "%(days)s days", days=int(round(np.expm1(dense[names.index("age_log")])))
        )
        values["fit"] = f"{dense[names.index('fit')]:.0f}"
        values["engagement"] = f"{dense[names.index('engagement')]:.0f}"
        Data = self.env["prm.propensity.data"]
        for field, value in attributes.items():
            shown = value if isinstance(value, list) else [value]
            values[field] = ", ".join(
                Data._attribute_value_label(field, v) for v in shown or [""]
            )
        return values

    # ------------------------------------------------------------------
    # ODOO'S OWN PREDICTIVE LEAD SCORING, ON THE SAME VALIDATION SET
    # ------------------------------------------------------------------

    def _pls_comparison(self, data, result):
        """Odoo's predictive lead scoring on the validation snapshots: its
        AUC, Brier score, ECE and reliability where it gives a probability,
        and the bootstrap intervals of both models' AUC and of their
        difference on the same resamples."""
        valid = np.asarray(result["valid_index"], dtype=np.int64)
        y = data["y"][valid]
        p = np.asarray(result["valid_predictions"])
        rows = np.arange(len(valid))
        if len(rows) > BOOTSTRAP_ROWS:  # resampling cost, not the figures
            rows = np.sort(
                np.random.default_rng(0).choice(rows, BOOTSTRAP_ROWS, replace=False)
            )
        out = {
            "pls_fields": ", ".join(
                self.env["crm.lead"]._fields[f].get_description(self.env)["string"]
                for f in self.env["crm.lead"]._pls_get_safe_fields()
            ),
        }
        pls = self.env["prm.propensity.pls"]._probabilities(
            data["lead_ids"][data["snap_lead"][valid]],
            data["at"][valid],
            stages=[data["stage_ids"][i] for i in valid.tolist()],
        )
        scored = ~np.isnan(pls)
        out["pls_coverage"] = 100.0 * scored.mean() if len(pls) else 0.0
        both = rows[scored[rows]]
        # snapshots of one lead are resampled together
        lead = data["snap_lead"][valid]
        boot = evaluation.bootstrap_auc(p[rows], y[rows], groups=lead[rows])
        out.update(auc_low=boot["low"] or 0.0, auc_high=boot["high"] or 0.0)
        if scored.any():
            m = evaluation.metrics(pls[scored], y[scored])
            paired = evaluation.bootstrap_auc(
                pls[both], y[both], q=p[both], groups=lead[both]
            )
            out.update(
                auc_pls_rows=evaluation.auc(p[scored], y[scored]) or 0.0,
                pls_auc=m["auc"] or 0.0,
                pls_brier=m["brier"],
                pls_ece=m["ece"],
                pls_auc_low=paired["low"] or 0.0,
                pls_auc_high=paired["high"] or 0.0,
                # AUC(PRM) - AUC(PLS) on the same resamples
                diff_low=-(paired["diff_high"] or 0.0),
                diff_high=-(paired["diff_low"] or 0.0),
                pls_calibration=evaluation.reliability(pls[scored], y[scored]),
                pls_lift=evaluation.lift(pls[scored], y[scored]),
            )
        return out
