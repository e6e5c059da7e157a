# Copyright 2026 PRM for Odoo
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models, tools

CHANNELS = [
    ("web", "Website"),
    ("email", "Email"),
    ("form", "Form"),
    ("sales", "Sales activity"),
    ("other", "Other"),
]


class PrmEventType(models.Model):
    """A kind of engagement event (page view, email open, call, ...)."""

    _name = "prm.event.type"
    _description = "PRM Event Type"
    _order = "sequence, name"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(
        required=True,
        help="Technical name used by the tracking API and the scoring rules.",
    )
    channel = fields.Selection(
        CHANNELS,
        required=True,
        default="other",
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    description = fields.Text(translate=True)
    event_count = fields.Integer(compute="_compute_event_count")

    _sql_constraints = [
        ("code_unique", "unique(code)", "The code of an event type must be unique."),
        (
            "code_format",
            "check(code ~ '^[a-z][a-z0-9_]*$')",
            "The code of an event type is lowercase letters, digits and underscores, "
            "starting with a letter.",
        ),
    ]

    def _compute_event_count(self):
        # from the Engagement report's counts, not millions of events
        counts = dict(
            self.env["prm.engagement.report"]._read_group(
                [("event_type_id", "in", self.ids)], ["event_type_id"], ["events:sum"]
            )
        )
        for event_type in self:
            event_type.event_count = counts.get(event_type, 0)

    @api.model_create_multi
    def create(self, vals_list):
        self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()

    @api.model
    @tools.ormcache()
    def _active_types(self):
        """{code: (id, channel)} of the active types (cached per registry)."""
        types = self.sudo().search([("active", "=", True)])
        return {t.code: (t.id, t.channel) for t in types}

    @api.model
    @tools.ormcache()
    def _codes_by_id(self):
        """{id: code} of every event type, archived ones included (cached per
        registry)."""
        types = (
            self.sudo().with_context(active_test=False).search([("code", "!=", False)])
        )
        return {t.id: t.code for t in types}

    @api.model
    def _get_by_code(self, code):
        """Return the active event type with this code (empty recordset if none)."""
        return self.search([("code", "=", code)], limit=1)
