# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models
from odoo.models import parse_read_group_spec, regex_order
from odoo.osv import expression
from odoo.tools import SQL

from ..tools import stay_rollup

# aggregates of a dimension that a combination row answers as the stays would
DIM_AGGREGATES = {"count_distinct", "min", "max", "bool_and", "bool_or"}
# the context value switching a report to the sums: an object, which no
# client's JSON context can carry
ROLLUP = object()


class PrmStaysReportMixin(models.AbstractModel):
    """A report with one row per stay, whose groupings are answered from the
    sums kept per combination (``prm_stay_rollup``, tools/stay_rollup.py)
    whenever every field a call touches is kept there: the domain, the
    user's record rules, the groupings, the aggregates and the order. Any
    other call (a date, a lead, a list of stays) reads the stays."""

    _name = "prm.stays.report.mixin"
    _description = "PRM report over the stage history"

    # report fields kept as dimensions of the rollup (same column names)
    _prm_rollup_dims = ()
    # report field -> rollup measure it sums
    _prm_rollup_measures = {}

    def _prm_on_rollup(self):
        """Whether this call reads the sums (see :meth:`_read_group`)."""
        return self.env.context.get("prm_rollup") is ROLLUP

    def _prm_stays_query(self):
        """The report's rows: one per stay."""
        raise NotImplementedError

    def _prm_rollup_from(self):
        """The FROM clause of the combination rows: ``r`` (the rollup with its
        pending changes) and whatever the report joins to it."""
        return f"({stay_rollup.REPORT}) r"

    def _prm_rollup_column(self, measure):
        """The SQL of a combination row's `measure`."""
        return f"r.{measure}"

    @property
    def _table_query(self):
        if not self._prm_on_rollup():
            return self._prm_stays_query()
        columns = [f"r.{name}" for name in ("id", *self._prm_rollup_dims)]
        columns += [
            f"{self._prm_rollup_column(measure)} AS {field}"
            for field, measure in self._prm_rollup_measures.items()
        ]
        # the counts the means divide by, under names no field has
        columns += [
            f"r.{name} AS prm_{name}"
            for name in ("stays", *stay_rollup.MEAN_OVER.values())
        ]
        return SQL(f"SELECT {', '.join(columns)} FROM {self._prm_rollup_from()}")

    @api.model
    def _read_group(
        self,
        domain,
        groupby=(),
        aggregates=(),
        having=(),
        offset=0,
        limit=None,
        order=None,
    ):
        model = self
        if not self._prm_on_rollup() and self._prm_rollup_serves(
            domain, groupby, aggregates, having, order
        ):
            model = self.with_context(prm_rollup=ROLLUP)
        rows = super(PrmStaysReportMixin, model)._read_group(
            domain, groupby, aggregates, having, offset, limit, order
        )
        if model is self:
            return rows
        # the groups' records back in the caller's environment
        return [
            tuple(
                value.with_env(self.env)
                if isinstance(value, models.BaseModel)
                else value
                for value in row
            )
            for row in rows
        ]

    def _read_group_select(self, aggregate_spec, query):
        if not self._prm_on_rollup():
            return super()._read_group_select(aggregate_spec, query)
        if aggregate_spec == "__count":
            return SQL("SUM(%s)", SQL.identifier(self._table, "prm_stays"))
        fname, _property, func = parse_read_group_spec(aggregate_spec)
        measure = self._prm_rollup_measures.get(fname)
        if measure is None:  # a dimension (DIM_AGGREGATES)
            return super()._read_group_select(aggregate_spec, query)
        column = self._field_to_sql(self._table, fname, query)
        # over the stays (the rates are 0/100 flags), or the ended ones
        count = SQL.identifier(
            self._table, "prm_" + stay_rollup.MEAN_OVER.get(measure, "stays")
        )
        if func == "sum":  # empty, as the stays' sum, when no stay counts
            return SQL("CASE WHEN SUM(%s) > 0 THEN SUM(%s) END", count, column)
        return SQL("SUM(%s)::numeric / NULLIF(SUM(%s), 0)", column, count)

    def _prm_rollup_answers(self, spec):
        """Whether an aggregate `spec` is answered alike by the rollup."""
        if spec == "__count":
            return True
        fname, property_name, func = parse_read_group_spec(spec)
        if property_name:
            return False
        if fname in self._prm_rollup_measures:
            return func in ("sum", "avg")
        return fname in self._prm_rollup_dims and func in DIM_AGGREGATES

    def _prm_rollup_serves(self, domain, groupby, aggregates, having, order):
        """Whether a ``_read_group`` call can be answered from the rollup."""
        if having:
            return False
        dims = set(self._prm_rollup_dims)
        for spec in groupby:
            fname, property_name, granularity = parse_read_group_spec(spec)
            if fname not in dims or property_name or granularity:
                return False
        if not all(self._prm_rollup_answers(spec) for spec in aggregates):
            return False
        for part in filter(None, (p.strip() for p in (order or "").split(","))):
            match = regex_order.match(part)
            term = match and match["term"]
            if not term or not (term in groupby or self._prm_rollup_answers(term)):
                return False
        rules = self.env["ir.rule"]._compute_domain(self._name, "read")
        return all(
            path.split(".")[0] in dims
            for path in _field_paths(list(domain or []) + list(rules or []))
        )


def _field_paths(domain):
    """The field paths a domain's leaves name (constant leaves left out).

    >>> list(_field_paths(["|", ("a.b", "=", 1), (1, "=", 1), ("c", "!=", 2)]))
    ['a.b', 'c']
    """
    for leaf in expression.normalize_domain(domain):
        if isinstance(leaf, list | tuple) and isinstance(leaf[0], str):
            yield leaf[0]
